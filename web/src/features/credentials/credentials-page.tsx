import { useState, type ReactNode } from 'react';
import { useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Badge, Button, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle, useFieldProblems } from '@/components/ui/ui';
import { request } from '@/lib/api/client';
import { useFormat, useTenantId } from '@/lib/session';
import { formatDateTime } from '@/lib/format/format';
import type { CredentialDto } from '@/features/onboarding/api';
import { ReturnToBanner } from './return-to-banner';
import { checkText } from './check-text';
import { AdminOnly } from '@/components/layout/admin-only';

type Provider = 'vapi' | 'twilio' | 'openai';
const credentialsKey = (tenantId: string) => [tenantId, 'credentials'] as const;

/** Settings → Credentials: Vapi, Twilio (with the SMS sender) and OpenAI-compatible; previews only, check, replace, delete. */
export function CredentialsPage() {
  const { t } = useTranslation();
  return (
    <AdminOnly title={t('credentials.title')}>
      <CredentialsPageBody />
    </AdminOnly>
  );
}

function CredentialsPageBody() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const search = useSearch({ from: '/_app/settings/credentials' });
  const list = useQuery({
    queryKey: credentialsKey(tenantId),
    queryFn: ({ signal }) => request<CredentialDto[]>('GET', '/api/v1/credentials', { signal }),
  });
  const find = (p: Provider) => list.data?.find((c) => c.provider === p);
  return (
    <>
      <ReturnToBanner returnTo={search.returnTo} />
      <PageTitle>{t('credentials.title')}</PageTitle>
      <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">{t('credentials.intro')}</p>
      <ErrorMessage error={list.error} />
      {list.isPending ? <p>{t('common.loading')}</p> : null}
      {list.data ? (
        <div className="grid gap-4 xl:grid-cols-2">
          <ProviderCard provider="vapi" credential={find('vapi')}>
            {(values, set, problem) => (
              <Field label={t('credentials.vapi.apiKey')} error={problem('apiKey')}>
                <input className={inputClass} type="password" dir="ltr" autoComplete="off" value={values.apiKey ?? ''} onChange={(e) => set({ apiKey: e.target.value })} />
              </Field>
            )}
          </ProviderCard>
          <ProviderCard provider="twilio" credential={find('twilio')}>
            {(values, set, problem) => (
              <>
                <Field label={t('credentials.twilio.accountSid')} error={problem('accountSid')}>
                  <input className={inputClass} dir="ltr" autoComplete="off" placeholder="AC…" value={values.accountSid ?? ''} onChange={(e) => set({ accountSid: e.target.value.trim() })} />
                </Field>
                <Field label={t('credentials.twilio.authToken')} error={problem('authToken')}>
                  <input className={inputClass} type="password" dir="ltr" autoComplete="off" value={values.authToken ?? ''} onChange={(e) => set({ authToken: e.target.value })} />
                </Field>
                <Field label={t('credentials.twilio.smsSender')} error={problem('smsSender')}>
                  <input className={inputClass} dir="ltr" placeholder="+15145550100 / MG…" value={values.smsSender ?? ''} onChange={(e) => set({ smsSender: e.target.value.trim() })} />
                </Field>
              </>
            )}
          </ProviderCard>
          <ProviderCard provider="openai" credential={find('openai')}>
            {(values, set, problem) => (
              <>
                <Field label={t('credentials.openai.apiKey')} error={problem('apiKey')}>
                  <input className={inputClass} type="password" dir="ltr" autoComplete="off" value={values.apiKey ?? ''} onChange={(e) => set({ apiKey: e.target.value })} />
                </Field>
                <Field label={t('credentials.openai.baseUrl')} error={problem('baseUrl')}>
                  <input className={inputClass} dir="ltr" placeholder="https://api.openai.com/v1" value={values.baseUrl ?? ''} onChange={(e) => set({ baseUrl: e.target.value.trim() })} />
                </Field>
              </>
            )}
          </ProviderCard>
        </div>
      ) : null}
    </>
  );
}

type Values = Record<string, string>;

/** The fields each provider's form shows, so their problems appear beside them rather than under the summary. */
const FIELDS: Record<Provider, readonly string[]> = {
  vapi: ['apiKey'],
  twilio: ['accountSid', 'authToken', 'smsSender'],
  openai: ['apiKey', 'baseUrl'],
};

function ProviderCard({
  provider,
  credential,
  children,
}: {
  provider: Provider;
  credential: CredentialDto | undefined;
  children: (values: Values, set: (change: Values) => void, problem: (field: string) => string | undefined) => ReactNode;
}) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const tenantId = useTenantId();
  const qc = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [values, setValues] = useState<Values>({});
  const [confirmDelete, setConfirmDelete] = useState(false);
  const refresh = () => void qc.invalidateQueries({ queryKey: credentialsKey(tenantId) });
  const put = useMutation({
    mutationFn: () => request<CredentialDto>('PUT', `/api/v1/credentials/${provider}`, { body: values }),
    onSuccess: () => {
      setEditing(false);
      setValues({});
      refresh();
    },
  });
  const check = useMutation({
    mutationFn: () => request<NonNullable<CredentialDto['lastCheck']>>('POST', `/api/v1/credentials/${provider}/check`),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: () => request<undefined>('DELETE', `/api/v1/credentials/${provider}`),
    onSuccess: () => {
      setConfirmDelete(false);
      check.reset();
      refresh();
    },
  });
  const problem = useFieldProblems(put.error);
  const configured = credential?.configured ?? false;
  const last = check.data ?? credential?.lastCheck ?? null;
  const titleId = `credential-${provider}`;
  return (
    <Card aria-labelledby={titleId}>
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h2 id={titleId} className="font-semibold">
          {t(`credentials.${provider}.title`)}
        </h2>
        <Badge tone={configured ? 'green' : 'slate'}>{configured ? t('credentials.configured') : t('credentials.notConfigured')}</Badge>
      </div>
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">{t(`credentials.${provider}.help`)}</p>
      {configured && credential ? (
        <dl className="mb-3 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
          {credential.preview ? (
            <>
              <dt className="text-slate-600 dark:text-slate-400">{t('credentials.preview')}</dt>
              <dd>
                <Ltr>{credential.preview}</Ltr>
              </dd>
            </>
          ) : null}
          {credential.accountSid ? (
            <>
              <dt className="text-slate-600 dark:text-slate-400">{t('credentials.twilio.accountSid')}</dt>
              <dd>
                <Ltr>{credential.accountSid}</Ltr>
              </dd>
            </>
          ) : null}
          {provider === 'twilio' ? (
            <>
              <dt className="text-slate-600 dark:text-slate-400">{t('credentials.twilio.smsSender')}</dt>
              <dd>{credential.smsSender ? <Ltr>{credential.smsSender}</Ltr> : t('credentials.twilio.senderFromNumber')}</dd>
            </>
          ) : null}
          {credential.baseUrl ? (
            <>
              <dt className="text-slate-600 dark:text-slate-400">{t('credentials.openai.baseUrl')}</dt>
              <dd className="break-all">
                <Ltr>{credential.baseUrl}</Ltr>
              </dd>
            </>
          ) : null}
          {credential.updatedAt ? (
            <>
              <dt className="text-slate-600 dark:text-slate-400">{t('credentials.updatedAt')}</dt>
              <dd>{formatDateTime(credential.updatedAt, fmt.locale, fmt.timeZone)}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
      {last ? (
        <p role="status" className="mb-3 flex flex-wrap items-center gap-2 text-sm">
          <Badge tone={last.ok ? 'green' : 'red'}>{last.ok ? t('credentials.checkOk') : t('credentials.checkFailed')}</Badge>
          <span>{checkText(last, t)}</span>
          <span className="text-slate-600 dark:text-slate-400">{formatDateTime(last.checkedAt, fmt.locale, fmt.timeZone)}</span>
        </p>
      ) : null}
      {editing || !configured ? (
        <form
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            put.mutate();
          }}
        >
          {children(values, (change) => setValues((v) => ({ ...v, ...change })), problem)}
          <div className="flex flex-wrap gap-2">
            <Button type="submit" variant="primary" disabled={put.isPending}>
              {configured ? t('credentials.saveReplacement') : t('credentials.save')}
            </Button>
            {editing ? (
              <Button
                onClick={() => {
                  setEditing(false);
                  setValues({});
                  put.reset();
                }}
              >
                {t('credentials.cancel')}
              </Button>
            ) : null}
          </div>
          <ErrorMessage error={put.error} shownFields={FIELDS[provider]} />
        </form>
      ) : (
        <div className="flex flex-wrap gap-2">
          <Button disabled={check.isPending} onClick={() => check.mutate()}>
            {check.isPending ? t('credentials.checking') : t('credentials.check')}
          </Button>
          <Button onClick={() => setEditing(true)}>{t('credentials.replace')}</Button>
          {confirmDelete ? (
            <>
              <Button variant="danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
                {t('credentials.confirmDelete')}
              </Button>
              <Button onClick={() => setConfirmDelete(false)}>{t('credentials.cancel')}</Button>
            </>
          ) : (
            <Button variant="danger" onClick={() => setConfirmDelete(true)}>
              {t('credentials.delete')}
            </Button>
          )}
        </div>
      )}
      <ErrorMessage error={check.error ?? remove.error} />
    </Card>
  );
}
