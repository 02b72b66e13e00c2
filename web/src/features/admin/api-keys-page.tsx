import { useEffect, useRef, useState, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Button, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle, type Tone } from '@/components/ui/ui';
import { formatDateTime } from '@/lib/format/format';
import { useFormat, useTenantId } from '@/lib/session';
import { useApiKeys, useKeyMutations, usePermissions, usePlan, type ApiKeyDto, type CreatedApiKey } from './api';
import { planName } from '@/lib/plan-name';
import { ReturnToBanner, SecretOnce } from './parts';
import { AdminOnly } from '@/components/layout/admin-only';
import { focusNeighbour, useReturnFocus } from './return-focus';

const statusTone: Record<string, Tone> = { active: 'green', expiring: 'amber', expired: 'slate', revoked: 'red' };

/** Settings → API keys: create (the key shown once, with a copy button), rotate with a grace period, revoke. */
export function ApiKeysPage() {
  const { t } = useTranslation();
  return (
    <AdminOnly title={t('admin.keys.title')}>
      <ApiKeysPageBody />
    </AdminOnly>
  );
}

function ApiKeysPageBody() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const can = usePermissions();
  const keys = useApiKeys(tenantId);
  const m = useKeyMutations(tenantId);
  const [name, setName] = useState('');
  // A plan without API access (the sign-up plan) cannot create a secret key: the form starts on the widget's publishable
  // key and says why, instead of offering "Secret" first and answering with a refusal.
  const plan = usePlan(tenantId).data;
  const noApi = plan !== undefined && !plan.plan.features.includes('api_access');
  const [picked, setKind] = useState<string | null>(null);
  const kind = picked ?? (noApi ? 'publishable' : 'secret');
  const [shown, setShown] = useState<CreatedApiKey | null>(null);
  // Where the focus goes once the new secret is noted (it took the focus from the button that made it): set by whoever showed it.
  const afterShown = useRef<() => void>(() => undefined);
  const heading = useRef<HTMLHeadingElement>(null);
  const nameInput = useRef<HTMLInputElement>(null);
  const onCreated = (k: CreatedApiKey) => {
    setShown(k);
    setName('');
    // "Create key" is disabled with the name emptied: the name, ready for another key.
    afterShown.current = () => nameInput.current?.focus();
  };
  const onRotated = (k: CreatedApiKey, restoreFocus: () => void) => {
    setShown(k);
    afterShown.current = restoreFocus;
  };
  return (
    <>
      <ReturnToBanner />
      <PageTitle headingRef={heading}>{t('admin.keys.title')}</PageTitle>
      <p className="mb-4 max-w-prose text-sm text-slate-600 dark:text-slate-400">{t('admin.keys.intro')}</p>
      {shown ? (
        <SecretOnce
          label={t('admin.keys.newKey', { name: shown.apiKey.name })}
          value={shown.key}
          onDone={() => {
            setShown(null);
            afterShown.current();
          }}
        />
      ) : null}
      {can.configure ? (
        <Card className="mb-4">
          <form
            className="flex flex-wrap items-end gap-3"
            onSubmit={(e) => {
              e.preventDefault();
              m.create.mutate({ name: name.trim(), kind }, { onSuccess: onCreated });
            }}
          >
            <Field label={t('admin.keys.name')} className="min-w-48 flex-1">
              <input ref={nameInput} className={inputClass} required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} dir="auto" />
            </Field>
            <Field label={t('admin.keys.kind')} hint={noApi ? t('admin.keys.secretNeedsPlan', { plan: planName(t, plan.plan) }) : undefined}>
              <select className={inputClass} value={kind} onChange={(e) => setKind(e.target.value)}>
                <option value="secret">{t('admin.keys.kinds.secret')}</option>
                <option value="publishable">{t('admin.keys.kinds.publishable')}</option>
              </select>
            </Field>
            <Button type="submit" variant="primary" disabled={m.create.isPending || !name.trim()}>
              {t('admin.keys.create')}
            </Button>
          </form>
          <ErrorMessage error={m.create.error} />
        </Card>
      ) : (
        <p className="mb-4 text-sm">{t('admin.readOnly')}</p>
      )}
      <ErrorMessage error={keys.error ?? m.rotate.error ?? m.revoke.error} />
      {keys.isPending ? <p>{t('common.loading')}</p> : null}
      {keys.data && keys.data.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.keys.empty')}</p> : null}
      <ul className="grid gap-3">
        {(keys.data ?? []).map((k) => (
          <KeyRow key={k.id} k={k} canConfigure={can.configure} onRotated={onRotated} listHeading={heading} />
        ))}
      </ul>
    </>
  );
}

/**
 * One key with its actions. The focus never falls to the page's body when an action's button goes: Revoke's confirmation
 * takes it (on Cancel) and gives it back to Revoke; a revoked key's row has no action left, so it goes to the next row's
 * first action, else to the list's heading; after a rotation's new secret is noted, back to Rotate, else (the key now
 * expiring or revoked) to what is left in the row, the next row, the heading.
 */
function KeyRow({
  k,
  canConfigure,
  onRotated,
  listHeading,
}: {
  k: ApiKeyDto;
  canConfigure: boolean;
  onRotated: (k: CreatedApiKey, restoreFocus: () => void) => void;
  listHeading: RefObject<HTMLHeadingElement | null>;
}) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const tenantId = useTenantId();
  const m = useKeyMutations(tenantId);
  const [grace, setGrace] = useState(24);
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const [revokeButton, restoreRevokeFocus] = useReturnFocus<HTMLButtonElement>();
  const cancelRevoke = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirmRevoke) cancelRevoke.current?.focus();
  }, [confirmRevoke]);
  const row = useRef<HTMLLIElement>(null);
  const rotateButton = useRef<HTMLButtonElement>(null);
  const live = k.status === 'active' || k.status === 'expiring';
  return (
    <li ref={row}>
      <Card aria-label={k.name}>
        <div className="flex flex-wrap items-center gap-2">
          <h2 className="min-w-0 font-semibold wrap-anywhere" dir="auto">
            {k.name}
          </h2>
          <code className="text-xs">
            <Ltr>{k.prefix}…</Ltr>
          </code>
          <Badge tone="blue">{t(`admin.keys.kinds.${k.kind}`, { defaultValue: k.kind })}</Badge>
          <Badge tone={statusTone[k.status] ?? 'slate'}>{t(`admin.keys.status.${k.status}`, { defaultValue: k.status })}</Badge>
          <span className="ms-auto text-xs text-slate-600 dark:text-slate-400">
            {t('admin.keys.created', { at: formatDateTime(k.createdAt, locale, timeZone) })}
            {k.expiresAt && !k.revokedAt ? ` · ${t('admin.keys.expires', { at: formatDateTime(k.expiresAt, locale, timeZone) })}` : ''}
          </span>
        </div>
        {canConfigure && live ? (
          <div className="mt-3 flex flex-wrap items-end gap-2">
            {k.status === 'active' ? (
              <>
                <Field label={t('admin.keys.grace')}>
                  <select className={inputClass} value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
                    {[0, 1, 24, 72, 168].map((h) => (
                      <option key={h} value={h}>
                        {h === 0 ? t('admin.keys.noGrace') : t('admin.keys.graceHours', { count: h })}
                      </option>
                    ))}
                  </select>
                </Field>
                <Button
                  ref={rotateButton}
                  disabled={m.rotate.isPending}
                  onClick={() =>
                    m.rotate.mutate(
                      { id: k.id, graceHours: grace },
                      {
                        onSuccess: (created) =>
                          onRotated(created, () => focusNeighbour({ trigger: rotateButton.current, row: row.current, sameRow: true, fallback: listHeading.current })),
                      },
                    )
                  }
                >
                  {t('admin.keys.rotate')}
                </Button>
              </>
            ) : null}
            {confirmRevoke ? (
              <>
                <span className="text-sm">{t('admin.keys.revokeConfirm')}</span>
                <Button
                  variant="danger"
                  disabled={m.revoke.isPending}
                  onClick={() =>
                    m.revoke.mutate(k.id, {
                      // The row's buttons go with the key's actions: the next row's first action, else the heading.
                      onSuccess: () => focusNeighbour({ row: row.current, sameRow: false, fallback: listHeading.current }),
                    })
                  }
                >
                  {t('admin.keys.revokeYes')}
                </Button>
                <Button
                  ref={cancelRevoke}
                  variant="ghost"
                  onClick={() => {
                    setConfirmRevoke(false);
                    restoreRevokeFocus();
                  }}
                >
                  {t('admin.cancel')}
                </Button>
              </>
            ) : (
              <Button ref={revokeButton} variant="danger" onClick={() => setConfirmRevoke(true)}>
                {t('admin.keys.revoke')}
              </Button>
            )}
          </div>
        ) : null}
      </Card>
    </li>
  );
}
