import { useEffect, useRef, useState, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { Plus, Trash2 } from 'lucide-react';
import { Badge, Button, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle, type Tone } from '@/components/ui/ui';
import { ApiError } from '@/lib/api/client';
import { formatDateTime } from '@/lib/format/format';
import { eventName } from '@/lib/event-name';
import { useFormat, useTenantId } from '@/lib/session';
import { usePlanHas } from '@/lib/plan';
import { PlanUpsell } from '@/components/layout/plan-upsell';
import {
  useEndpointMutations,
  useEndpoints,
  useEventTypes,
  usePermissions,
  usePlan,
  type EndpointInput,
  type WebhookEndpointDto,
} from './api';
import { DeliveryLog } from './webhook-deliveries';
import { Notice, ReturnToBanner, SecretOnce } from './parts';
import { focusNeighbour, useReturnFocus } from './return-focus';

/** Settings → Webhooks: endpoints (URL, event types, custom headers, enabled), the secret shown once and its rotation, test-send and the delivery log. */
export function WebhooksPage() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const can = usePermissions();
  // The plan says whether webhooks are in it: without them the list is not asked for (the server would refuse it with a
  // 403, logged by the browser), and the page offers the plan page instead of a form that cannot be saved.
  const plan = usePlan(tenantId);
  const hasWebhooks = usePlanHas(tenantId, 'webhooks');
  const endpoints = useEndpoints(tenantId, { enabled: hasWebhooks === true });
  const m = useEndpointMutations(tenantId);
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<{ label: string; value: string; created?: boolean } | null>(null);
  const [addButton, restoreAddFocus] = useReturnFocus<HTMLButtonElement>();
  const heading = useRef<HTMLHeadingElement>(null);
  // The server's refusal says the same when the plan changed since it was read.
  const refused = endpoints.error instanceof ApiError && endpoints.error.code === 'FEATURE_NOT_IN_PLAN';
  const notInPlan = hasWebhooks === false || refused;
  return (
    <>
      <ReturnToBanner />
      <PageTitle
        headingRef={heading}
        actions={
          !notInPlan && hasWebhooks !== undefined && can.configure && !adding ? (
            <Button ref={addButton} variant="primary" onClick={() => setAdding(true)}>
              <Plus aria-hidden className="size-4" />
              {t('admin.webhooks.add')}
            </Button>
          ) : null
        }
      >
        {t('admin.webhooks.title')}
      </PageTitle>
      <p className="mb-4 max-w-prose text-sm text-slate-600 dark:text-slate-400">{t('admin.webhooks.intro')}</p>
      {secret ? (
        <SecretOnce
          label={secret.label}
          value={secret.value}
          onDone={() => {
            setSecret(null);
            if (secret.created) restoreAddFocus();
          }}
        />
      ) : null}
      {adding ? (
        <Card className="mb-4">
          <h2 className="mb-3 font-semibold">{t('admin.webhooks.newEndpoint')}</h2>
          <EndpointForm
            pending={m.create.isPending}
            error={m.create.error}
            onCancel={() => {
              setAdding(false);
              restoreAddFocus();
            }}
            onSubmit={(body) =>
              m.create.mutate(body, {
                onSuccess: (r) => {
                  setAdding(false);
                  setSecret({ label: t('admin.webhooks.secretFor', { url: r.endpoint.url }), value: r.secret, created: true });
                },
              })
            }
          />
        </Card>
      ) : null}
      {notInPlan ? <PlanUpsell feature="webhooks" plan={plan.data} /> : <ErrorMessage error={endpoints.error} />}
      {!notInPlan && endpoints.isPending ? <p>{t('common.loading')}</p> : null}
      {endpoints.data && endpoints.data.length === 0 && !adding ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.webhooks.empty')}</p>
      ) : null}
      <ul className="grid gap-4">
        {(endpoints.data ?? []).map((e) => (
          <EndpointCard
            key={e.id}
            endpoint={e}
            canConfigure={can.configure}
            listHeading={heading}
            onSecret={(value) => setSecret({ label: t('admin.webhooks.secretFor', { url: e.url }), value })}
          />
        ))}
      </ul>
    </>
  );
}

/**
 * One endpoint with its actions. Delete's confirmation takes the focus (on Cancel) and gives it back to Delete; once the
 * endpoint is deleted its card goes, and the focus goes to the next card's first action, else to the page's heading.
 */
function EndpointCard({
  endpoint: e,
  canConfigure,
  listHeading,
  onSecret,
}: {
  endpoint: WebhookEndpointDto;
  canConfigure: boolean;
  listHeading: RefObject<HTMLHeadingElement | null>;
  onSecret: (s: string) => void;
}) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const tenantId = useTenantId();
  const m = useEndpointMutations(tenantId);
  const [editing, setEditing] = useState(false);
  const [editButton, restoreEditFocus] = useReturnFocus<HTMLButtonElement>();
  const stopEditing = () => {
    setEditing(false);
    restoreEditFocus();
  };
  const [showLog, setShowLog] = useState(false);
  const [overlap, setOverlap] = useState(24);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleteButton, restoreDeleteFocus] = useReturnFocus<HTMLButtonElement>();
  const cancelDelete = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirmDelete) cancelDelete.current?.focus();
  }, [confirmDelete]);
  const row = useRef<HTMLLIElement>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const tone: Tone = e.enabled ? (e.failingSince ? 'amber' : 'green') : 'red';
  const headers = Object.entries(e.headers);
  return (
    <li ref={row}>
      <Card aria-label={e.url}>
        <div className="mb-2 flex flex-wrap items-center gap-2">
          <h2 className="min-w-0 font-semibold break-all">
            <Ltr>{e.url}</Ltr>
          </h2>
          <Badge tone={tone}>
            {e.enabled ? (e.failingSince ? t('admin.webhooks.failing') : t('admin.webhooks.enabled')) : t(`admin.webhooks.disabled.${e.disabledReason ?? 'manual'}`, { defaultValue: t('admin.webhooks.disabled.manual') })}
          </Badge>
        </div>
        {e.description ? (
          <p className="mb-2 text-sm wrap-anywhere" dir="auto">
            {e.description}
          </p>
        ) : null}
        <dl className="mb-3 grid gap-1 text-sm sm:grid-cols-[max-content_1fr] sm:gap-x-4">
          <dt className="font-medium">{t('admin.webhooks.events')}</dt>
          <dd className="flex flex-wrap gap-1">
            {e.eventTypes.length === 0 ? t('admin.webhooks.allEvents') : e.eventTypes.map((ty) => (
                  // The code as the title: the receiver's payload names the type by it.
                  <span key={ty} title={ty}>
                    <Badge>{eventName(t, ty)}</Badge>
                  </span>
                ))}
          </dd>
          <dt className="font-medium">{t('admin.webhooks.headers')}</dt>
          <dd>
            {headers.length === 0
              ? t('admin.webhooks.noHeaders')
              : headers.map(([k, v]) => (
                  <div key={k}>
                    <Ltr>
                      <code>
                        {k}: {v}
                      </code>
                    </Ltr>
                  </div>
                ))}
          </dd>
          <dt className="font-medium">{t('admin.webhooks.secret')}</dt>
          <dd>
            <Ltr>
              <code>{e.secretPreview}</code>
            </Ltr>
            {e.previousSecretExpiresAt ? (
              <span className="ms-2 text-xs text-slate-600 dark:text-slate-400">
                {t('admin.webhooks.previousUntil', { at: formatDateTime(e.previousSecretExpiresAt, locale, timeZone) })}
              </span>
            ) : null}
          </dd>
        </dl>
        {canConfigure && editing ? (
          <EndpointForm
            initial={e}
            pending={m.update.isPending}
            error={m.update.error}
            onCancel={stopEditing}
            onSubmit={(body) => m.update.mutate({ id: e.id, body }, { onSuccess: stopEditing })}
          />
        ) : null}
        <div className="flex flex-wrap items-end gap-2">
          <Button onClick={() => setShowLog((s) => !s)} aria-expanded={showLog}>
            {showLog ? t('admin.webhooks.hideLog') : t('admin.webhooks.showLog')}
          </Button>
          {canConfigure && !editing ? (
            <>
              <Button ref={editButton} onClick={() => setEditing(true)}>
                {t('admin.edit')}
              </Button>
              <Button disabled={m.update.isPending} onClick={() => m.update.mutate({ id: e.id, body: { enabled: !e.enabled } })}>
                {e.enabled ? t('admin.webhooks.disable') : t('admin.webhooks.enable')}
              </Button>
              <Field label={t('admin.webhooks.overlap')}>
                <select className={inputClass} value={overlap} onChange={(ev) => setOverlap(Number(ev.target.value))}>
                  {[0, 1, 24, 72, 168].map((h) => (
                    <option key={h} value={h}>
                      {h === 0 ? t('admin.keys.noGrace') : t('admin.keys.graceHours', { count: h })}
                    </option>
                  ))}
                </select>
              </Field>
              <Button
                disabled={m.rotate.isPending}
                onClick={() => m.rotate.mutate({ id: e.id, overlapHours: overlap }, { onSuccess: (r) => onSecret(r.secret) })}
              >
                {t('admin.webhooks.rotate')}
              </Button>
              {confirmDelete ? (
                <>
                  <span className="text-sm">{t('admin.webhooks.deleteConfirm')}</span>
                  <Button
                    variant="danger"
                    disabled={m.remove.isPending}
                    onClick={() =>
                      m.remove.mutate(e.id, {
                        // The card goes with the endpoint: the next card's first action, else the heading.
                        onSuccess: () => focusNeighbour({ row: row.current, sameRow: false, fallback: listHeading.current }),
                      })
                    }
                  >
                    {t('admin.webhooks.deleteYes')}
                  </Button>
                  <Button
                    ref={cancelDelete}
                    variant="ghost"
                    onClick={() => {
                      setConfirmDelete(false);
                      restoreDeleteFocus();
                    }}
                  >
                    {t('admin.cancel')}
                  </Button>
                </>
              ) : (
                <Button ref={deleteButton} variant="danger" onClick={() => setConfirmDelete(true)}>
                  {t('admin.delete')}
                </Button>
              )}
            </>
          ) : null}
        </div>
        <ErrorMessage error={m.rotate.error ?? m.remove.error ?? (editing ? null : m.update.error)} />
        <Notice>{notice}</Notice>
        {showLog ? <DeliveryLog endpointId={e.id} canConfigure={canConfigure} onNotice={setNotice} /> : null}
      </Card>
    </li>
  );
}

function EndpointForm({
  initial,
  pending,
  error,
  onSubmit,
  onCancel,
}: {
  initial?: WebhookEndpointDto;
  pending: boolean;
  error: unknown;
  onSubmit: (body: EndpointInput) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const types = useEventTypes();
  const [url, setUrl] = useState(initial?.url ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [selected, setSelected] = useState<string[]>(initial?.eventTypes ?? []);
  const [enabled, setEnabled] = useState(initial?.enabled ?? true);
  // Stored header values are previews: editing starts from names only, values must be typed again to replace them.
  const [headers, setHeaders] = useState<{ name: string; value: string }[]>(
    initial ? Object.keys(initial.headers).map((name) => ({ name, value: '' })) : [],
  );
  const [keepHeaders, setKeepHeaders] = useState(initial !== undefined);
  const toggle = (type: string) => setSelected((s) => (s.includes(type) ? s.filter((x) => x !== type) : [...s, type]));
  // Opened from a button the form replaces: the focus goes to its first field rather than to the page's body.
  const urlInput = useRef<HTMLInputElement>(null);
  useEffect(() => urlInput.current?.focus(), []);
  return (
    <form
      className="mb-3 grid gap-3"
      onSubmit={(ev) => {
        ev.preventDefault();
        const body: EndpointInput = {
          url: url.trim(),
          description: description.trim() || null,
          eventTypes: selected,
          enabled,
          headers: Object.fromEntries(headers.filter((h) => h.name.trim()).map((h) => [h.name.trim(), h.value])),
        };
        // Editing without replacing the headers leaves them as stored (the API keeps a field that is absent).
        onSubmit(keepHeaders ? { ...body, headers: undefined } : body);
      }}
    >
      <Field label={t('admin.webhooks.url')}>
        <input ref={urlInput} className={inputClass} type="url" required dir="ltr" placeholder="https://example.com/webhooks" value={url} onChange={(e) => setUrl(e.target.value)} />
      </Field>
      <Field label={t('admin.webhooks.description')}>
        <input className={inputClass} maxLength={500} dir="auto" value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <fieldset className="text-sm">
        <legend className="mb-1 font-medium">{t('admin.webhooks.events')}</legend>
        <p className="mb-1 text-xs text-slate-600 dark:text-slate-400">{t('admin.webhooks.eventsHint')}</p>
        <ErrorMessage error={types.error} />
        <div className="grid gap-1 sm:grid-cols-2">
          {(types.data ?? []).map((ty) => (
            <label key={ty.type} className="flex items-start gap-2" title={ty.description}>
              <input type="checkbox" className="mt-1" checked={selected.includes(ty.type)} onChange={() => toggle(ty.type)} />
              {/* The words for a person, the type's code (what the receiver's payload says) under them for a developer. */}
              <span className="min-w-0">
                {eventName(t, ty.type)}
                <code className="block text-xs break-all text-slate-600 dark:text-slate-400">{ty.type}</code>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset className="text-sm">
        <legend className="mb-1 font-medium">{t('admin.webhooks.headers')}</legend>
        {initial && keepHeaders ? (
          <label className="mb-2 flex items-center gap-2">
            <input type="checkbox" checked={!keepHeaders} onChange={() => setKeepHeaders(false)} />
            {t('admin.webhooks.replaceHeaders')}
          </label>
        ) : (
          <>
            {headers.map((h, i) => (
              <div key={i} className="mb-2 flex flex-wrap gap-2">
                <input
                  className={`${inputClass} min-w-0 flex-1`}
                  aria-label={t('admin.webhooks.headerName')}
                  placeholder={t('admin.webhooks.headerName')}
                  dir="ltr"
                  value={h.name}
                  onChange={(e) => setHeaders((all) => all.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
                />
                <input
                  className={`${inputClass} min-w-0 flex-1`}
                  aria-label={t('admin.webhooks.headerValue')}
                  placeholder={t('admin.webhooks.headerValue')}
                  dir="ltr"
                  value={h.value}
                  onChange={(e) => setHeaders((all) => all.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
                />
                <Button variant="ghost" aria-label={t('admin.webhooks.removeHeader')} onClick={() => setHeaders((all) => all.filter((_, j) => j !== i))}>
                  <Trash2 aria-hidden className="size-4" />
                </Button>
              </div>
            ))}
            {headers.length < 20 ? (
              <Button onClick={() => setHeaders((all) => [...all, { name: '', value: '' }])}>
                <Plus aria-hidden className="size-4" />
                {t('admin.webhooks.addHeader')}
              </Button>
            ) : null}
          </>
        )}
      </fieldset>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        {t('admin.webhooks.enabled')}
      </label>
      <ErrorMessage error={error} />
      <div className="flex flex-wrap gap-2">
        <Button type="submit" variant="primary" disabled={pending}>
          {t('admin.save')}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          {t('admin.cancel')}
        </Button>
      </div>
    </form>
  );
}
