import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { FileText, RefreshCw, Trash2, Upload } from 'lucide-react';
import { Badge, Button, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle } from '@/components/ui/ui';
import { useFormat, useTenantId } from '@/lib/session';
import { formatDateTime } from '@/lib/format/format';
import { usePermissions } from '@/features/admin/api';
import { cn } from '@/lib/cn';
import { FileInput } from '@/components/ui/file-input';
import { UPLOAD_ACCEPT, useAddDocument, useDeleteDocument, useKnowledge, useReindexDocument, type KnowledgeDocument } from './api';

type Mode = 'file' | 'text' | 'url';

/**
 * Settings → Knowledge base: the documents the assistant answers from (web chat, Vapi and native calls), with their
 * chunks; add a file (PDF, Markdown, HTML, text), pasted text or a web page; re-index or delete. Admins change it,
 * members read it.
 */
export function KnowledgePage() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const can = usePermissions();
  const documents = useKnowledge(tenantId);
  return (
    <>
      <PageTitle>{t('knowledgeBase.title')}</PageTitle>
      <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">{t('knowledgeBase.intro')}</p>
      {can.configure ? <AddDocument tenantId={tenantId} /> : null}
      <ErrorMessage error={documents.error} />
      {documents.isPending ? <p>{t('common.loading')}</p> : null}
      {documents.data ? <DocumentList tenantId={tenantId} documents={documents.data} canConfigure={can.configure} /> : null}
    </>
  );
}

function AddDocument({ tenantId }: { tenantId: string }) {
  const { t } = useTranslation();
  const add = useAddDocument(tenantId);
  const [mode, setMode] = useState<Mode>('file');
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [url, setUrl] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAdded(null);
    const input =
      mode === 'file'
        ? file
          ? { file, title: title.trim() || undefined }
          : null
        : mode === 'text'
          ? { json: { type: 'markdown', title: title.trim() || null, content: text, contentBase64: null, url: null, fileName: null } }
          : { json: { type: 'url', title: title.trim() || null, content: null, contentBase64: null, url: url.trim(), fileName: null } };
    if (!input) return;
    add.mutate(input, {
      onSuccess: (document) => {
        setAdded(document.title);
        setTitle('');
        setText('');
        setUrl('');
        setFile(null);
        if (fileInput.current) fileInput.current.value = '';
      },
    });
  };
  const ready = mode === 'file' ? !!file : mode === 'text' ? text.trim().length > 0 : url.trim().length > 0;

  return (
    <Card className="mb-4">
      <h2 className="mb-3 font-semibold">{t('knowledgeBase.add.title')}</h2>
      <form onSubmit={submit} className="flex flex-col gap-3" aria-label={t('knowledgeBase.add.title')}>
        <fieldset className="flex flex-wrap gap-2">
          <legend className="sr-only">{t('knowledgeBase.add.kind')}</legend>
          {(['file', 'text', 'url'] as const).map((m) => (
            <label
              key={m}
              className={cn(
                'cursor-pointer rounded-md border px-3 py-1.5 text-sm',
                mode === m ? 'border-brand-500 bg-brand-50 font-medium dark:bg-slate-800' : 'border-slate-300 dark:border-slate-700',
              )}
            >
              <input type="radio" name="knowledge-kind" value={m} checked={mode === m} onChange={() => setMode(m)} className="sr-only" />
              {t(`knowledgeBase.add.${m}`)}
            </label>
          ))}
        </fieldset>
        <Field label={t('knowledgeBase.add.documentTitle')}>
          <input className={inputClass} value={title} maxLength={300} onChange={(e) => setTitle(e.target.value)} placeholder={t('knowledgeBase.add.titlePlaceholder')} />
        </Field>
        {mode === 'file' ? (
          <Field label={t('knowledgeBase.add.fileLabel')}>
            <FileInput inputRef={fileInput} label={t('knowledgeBase.add.fileLabel')} accept={UPLOAD_ACCEPT} file={file} onChange={setFile} />
          </Field>
        ) : null}
        {mode === 'file' ? <p className="text-xs text-slate-600 dark:text-slate-400">{t('knowledgeBase.add.fileHint')}</p> : null}
        {mode === 'text' ? (
          <Field label={t('knowledgeBase.add.textLabel')}>
            <textarea className={cn(inputClass, 'min-h-32')} dir="auto" value={text} onChange={(e) => setText(e.target.value)} placeholder={t('knowledgeBase.add.textPlaceholder')} />
          </Field>
        ) : null}
        {mode === 'url' ? (
          <Field label={t('knowledgeBase.add.urlLabel')}>
            <input className={inputClass} type="url" dir="ltr" inputMode="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://www.example.com/faq" />
          </Field>
        ) : null}
        <ErrorMessage error={add.error} />
        {added ? (
          <p role="status" className="text-sm text-green-800 dark:text-green-300">
            {t('knowledgeBase.add.added', { title: added })}
          </p>
        ) : null}
        <div>
          <Button type="submit" variant="primary" disabled={!ready || add.isPending}>
            <Upload aria-hidden className="size-4" />
            {add.isPending ? t('knowledgeBase.add.adding') : t('knowledgeBase.add.submit')}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function DocumentList({ tenantId, documents, canConfigure }: { tenantId: string; documents: KnowledgeDocument[]; canConfigure: boolean }) {
  const { t } = useTranslation();
  if (documents.length === 0) {
    return (
      <Card>
        <p className="text-sm text-slate-600 dark:text-slate-400">{t('knowledgeBase.empty')}</p>
      </Card>
    );
  }
  return (
    <Card className="p-0">
      <ul className="divide-y divide-slate-100 dark:divide-slate-800" aria-label={t('knowledgeBase.documents')}>
        {documents.map((d) => (
          <DocumentRow key={d.id} tenantId={tenantId} document={d} canConfigure={canConfigure} />
        ))}
      </ul>
    </Card>
  );
}

function DocumentRow({ tenantId, document: d, canConfigure }: { tenantId: string; document: KnowledgeDocument; canConfigure: boolean }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const reindex = useReindexDocument(tenantId);
  const remove = useDeleteDocument(tenantId);
  const [confirming, setConfirming] = useState(false);
  return (
    <li className="flex flex-col gap-2 p-3 sm:flex-row sm:items-start" data-testid="knowledge-document">
      <FileText aria-hidden className="mt-0.5 hidden size-4 shrink-0 text-slate-500 sm:block" />
      <div className="min-w-0 flex-1">
        <p className="font-medium break-words" dir="auto">
          {d.title}
        </p>
        <div className="mt-1 flex flex-wrap items-center gap-2 text-xs text-slate-600 dark:text-slate-400">
          <Badge>{t(`knowledgeBase.types.${d.sourceType}`, { defaultValue: d.sourceType })}</Badge>
          <span>{t('knowledgeBase.chunks', { count: d.chunkCount })}</span>
          <span>{formatDateTime(d.indexedAt, locale, timeZone)}</span>
          {d.sourceUrl ? (
            <span className="min-w-0 break-all">
              <Ltr>{d.sourceUrl}</Ltr>
            </span>
          ) : d.fileName ? (
            <span className="min-w-0 break-all">
              <Ltr>{d.fileName}</Ltr>
            </span>
          ) : null}
        </div>
        <ErrorMessage error={reindex.error ?? remove.error} />
      </div>
      {canConfigure ? (
        <div className="flex shrink-0 flex-wrap gap-2">
          <Button onClick={() => reindex.mutate(d.id)} disabled={reindex.isPending}>
            <RefreshCw aria-hidden className={cn('size-4', reindex.isPending && 'animate-spin')} />
            {t('knowledgeBase.reindex')}
          </Button>
          {confirming ? (
            <>
              <Button variant="danger" onClick={() => remove.mutate(d.id)} disabled={remove.isPending}>
                <Trash2 aria-hidden className="size-4" />
                {t('knowledgeBase.confirmDelete')}
              </Button>
              <Button onClick={() => setConfirming(false)}>{t('knowledgeBase.cancel')}</Button>
            </>
          ) : (
            <Button onClick={() => setConfirming(true)}>
              <Trash2 aria-hidden className="size-4" />
              {t('knowledgeBase.delete')}
            </Button>
          )}
        </div>
      ) : null}
    </li>
  );
}
