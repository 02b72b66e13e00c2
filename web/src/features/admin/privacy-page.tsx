import { useState } from 'react';
import { useNavigate } from '@tanstack/react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Download } from 'lucide-react';
import { Button, buttonClass, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle } from '@/components/ui/ui';
import { formatPhone } from '@/lib/format/format';
import { normalisePhone } from '@/lib/phone';
import { useSession, useTenantId } from '@/lib/session';
import { usePermissions, usePrivacyMutations, useRetention, type CallerErasureResult, type RetentionSettings } from './api';
import { Notice, ReturnToBanner } from './parts';


/** Settings → Data & privacy: export, erasure of one caller by number (confirmed), retention, erasure of the whole organisation (typed confirmation). */
export function PrivacyPage() {
  const { t } = useTranslation();
  const can = usePermissions();
  return (
    <>
      <ReturnToBanner />
      <PageTitle>{t('admin.privacy.title')}</PageTitle>
      {!can.compliance ? <p className="mb-4 text-sm">{t('admin.readOnly')}</p> : null}
      <div className="grid gap-4 lg:grid-cols-2">
        {can.compliance ? (
          <Card aria-label={t('admin.privacy.export')}>
            <h2 className="mb-1 font-semibold">{t('admin.privacy.export')}</h2>
            <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">{t('admin.privacy.exportHint')}</p>
            <a className={buttonClass('primary')} href="/api/v1/export" download>
              <Download aria-hidden className="size-4" />
              {t('admin.privacy.download')}
            </a>
          </Card>
        ) : null}
        <RetentionCard canEdit={can.compliance} />
        {can.compliance ? <CallerErasureCard /> : null}
        {can.owner ? <TenantErasureCard /> : null}
      </div>
    </>
  );
}

function RetentionCard({ canEdit }: { canEdit: boolean }) {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const retention = useRetention(tenantId);
  const m = usePrivacyMutations(tenantId);
  const [draft, setDraft] = useState<{ recordingDays: string; transcriptDays: string } | null>(null);
  const [saved, setSaved] = useState(false);
  const current = retention.data;
  const value = draft ?? { recordingDays: current?.recordingDays?.toString() ?? '', transcriptDays: current?.transcriptDays?.toString() ?? '' };
  const toBody = (): RetentionSettings => ({
    recordingDays: value.recordingDays ? Number(value.recordingDays) : null,
    transcriptDays: value.transcriptDays ? Number(value.transcriptDays) : null,
  });
  return (
    <Card aria-label={t('admin.privacy.retention')}>
      <h2 className="mb-1 font-semibold">{t('admin.privacy.retention')}</h2>
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">{t('admin.privacy.retentionHint')}</p>
      <ErrorMessage error={retention.error} />
      <form
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(false);
          m.retention.mutate(toBody(), {
            onSuccess: () => {
              setDraft(null);
              setSaved(true);
            },
          });
        }}
      >
        <Field label={t('admin.privacy.recordingDays')}>
          <input
            className={`${inputClass} w-32`}
            type="number"
            min={1}
            max={3650}
            disabled={!canEdit}
            placeholder={t('admin.privacy.forever')}
            value={value.recordingDays}
            onChange={(e) => setDraft({ ...value, recordingDays: e.target.value })}
          />
        </Field>
        <Field label={t('admin.privacy.transcriptDays')}>
          <input
            className={`${inputClass} w-32`}
            type="number"
            min={1}
            max={3650}
            disabled={!canEdit}
            placeholder={t('admin.privacy.forever')}
            value={value.transcriptDays}
            onChange={(e) => setDraft({ ...value, transcriptDays: e.target.value })}
          />
        </Field>
        {canEdit ? (
          <Button type="submit" variant="primary" disabled={m.retention.isPending || draft === null}>
            {t('admin.save')}
          </Button>
        ) : null}
      </form>
      <ErrorMessage error={m.retention.error} />
      <Notice>{saved ? t('admin.saved') : null}</Notice>
    </Card>
  );
}

function CallerErasureCard() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const m = usePrivacyMutations(tenantId);
  const [phone, setPhone] = useState('');
  const [confirming, setConfirming] = useState<{ number: string; typed: string } | null>(null);
  const [result, setResult] = useState<{ phone: string; r: CallerErasureResult } | null>(null);
  // E.164, or the number as the business writes it ("(514) 555-0123"): the server reads that in the organisation's
  // country (ComplianceApi, Phones.SettingsNumberToE164). Shown back as typed until the server has read it.
  const normalized = normalisePhone(phone);
  const valid = normalized !== null;
  const shown = (c: { number: string; typed: string }) => (c.number.startsWith('+') ? formatPhone(c.number) : c.typed.trim());
  return (
    <Card aria-label={t('admin.privacy.eraseCaller')}>
      <h2 className="mb-1 font-semibold">{t('admin.privacy.eraseCaller')}</h2>
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">{t('admin.privacy.eraseCallerHint')}</p>
      {confirming ? (
        <div role="alertdialog" aria-label={t('admin.privacy.confirmTitle')} className="rounded-md border border-red-300 bg-red-50 p-3 text-sm dark:border-red-800 dark:bg-red-950">
          <p className="mb-2">{t('admin.privacy.confirmCaller', { phone: shown(confirming) })}</p>
          <div className="flex flex-wrap gap-2">
            <Button
              variant="danger"
              disabled={m.eraseCaller.isPending}
              onClick={() =>
                m.eraseCaller.mutate(confirming.number, {
                  onSuccess: (r) => {
                    setResult({ phone: shown(confirming), r });
                    setConfirming(null);
                    setPhone('');
                  },
                })
              }
            >
              {t('admin.privacy.eraseYes')}
            </Button>
            <Button variant="ghost" onClick={() => setConfirming(null)}>
              {t('admin.cancel')}
            </Button>
          </div>
        </div>
      ) : (
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            if (normalized) {
              setResult(null);
              setConfirming({ number: normalized, typed: phone });
            }
          }}
        >
          <Field label={t('admin.privacy.phone')} className="min-w-48 flex-1 basis-full sm:basis-0">
            <input
              className={inputClass}
              type="tel"
              dir="ltr"
              required
              placeholder="+15145550123"
              value={phone}
              aria-invalid={phone !== '' && !valid}
              onChange={(e) => setPhone(e.target.value)}
            />
          </Field>
          {/* A whole phrase in every language (a one-word "محو…" read as a cut label); it wraps under the field on a phone. */}
          <Button type="submit" variant="danger" className="max-w-full" disabled={!valid}>
            {t('admin.privacy.eraseCallerButton')}
          </Button>
          {phone !== '' && !valid ? <p className="w-full text-xs text-red-800 dark:text-red-300">{t('admin.privacy.phoneInvalid')}</p> : null}
        </form>
      )}
      <ErrorMessage error={m.eraseCaller.error} />
      <Notice>
        {result ? (
          <>
            <Ltr>{result.phone}</Ltr> {t('admin.privacy.erasedCaller', { calls: result.r.calls, leads: result.r.leads, sms: result.r.smsMessages })}
          </>
        ) : null}
      </Notice>
    </Card>
  );
}

function TenantErasureCard() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const session = useSession();
  const m = usePrivacyMutations(tenantId);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [typed, setTyped] = useState('');
  const name = session.tenant?.name ?? '';
  return (
    <Card aria-label={t('admin.privacy.eraseTenant')} className="border-red-300 lg:col-span-2 dark:border-red-900">
      <h2 className="mb-1 font-semibold text-red-800 dark:text-red-300">{t('admin.privacy.eraseTenant')}</h2>
      <p className="mb-3 text-sm">{t('admin.privacy.eraseTenantHint', { name })}</p>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (typed !== name) return;
          m.eraseTenant.mutate(typed, {
            onSuccess: () => {
              qc.clear();
              void navigate({ to: '/sign-in', search: {} });
            },
          });
        }}
      >
        {/* A row of its own on a phone: beside the button, the label (the organisation's name in quotes) broke into a narrow column. */}
        <Field label={t('admin.privacy.typeName', { name })} className="min-w-48 flex-1 basis-full sm:basis-0">
          <input className={inputClass} dir="auto" autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} />
        </Field>
        <Button type="submit" variant="danger" disabled={typed !== name || m.eraseTenant.isPending}>
          {t('admin.privacy.eraseTenantButton')}
        </Button>
      </form>
      <ErrorMessage error={m.eraseTenant.error} />
    </Card>
  );
}
