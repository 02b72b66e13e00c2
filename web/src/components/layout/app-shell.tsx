import { useState, type ReactNode } from 'react';
import { Link, useNavigate } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Dialog } from 'radix-ui';
import { Activity, BarChart3, BellRing, BookOpen, Bot, Library, Building, Gauge, Home, KeyRound, Lock, LogOut, Mail, Menu, MessageSquare, MessagesSquare, Phone, PhoneCall, Radio, Rocket, ScrollText, ShieldCheck, UserCog, Users, Webhook, X } from 'lucide-react';
import { useSession } from '@/lib/session';
import { useConnection } from '@/lib/live/use-live-events';
import { api } from '@/lib/api/client';
import { useQueryClient } from '@tanstack/react-query';
import { cn } from '@/lib/cn';
import { LanguageSelect, ThemeSelect } from './preferences';
import { OrgSwitcher } from '@/features/account/org-switcher';
import { VerifyBanner } from '@/features/account/verify-banner';
import { CommandPalette } from '@/features/palette/command-palette';

const NAV = [
  { to: '/', key: 'nav.overview', icon: Home, exact: true },
  { to: '/live', key: 'nav.live', icon: Radio },
  { group: 'nav.conversations' },
  { to: '/calls', key: 'nav.calls', icon: Phone },
  { to: '/leads', key: 'nav.leads', icon: Users },
  { to: '/sms', key: 'nav.sms', icon: MessageSquare },
  { to: '/analytics', key: 'nav.analytics', icon: BarChart3 },
  { to: '/onboarding', key: 'onboarding.nav', icon: Rocket },
  { group: 'studio.nav.settings' },
  { to: '/settings/assistants', key: 'studio.nav.assistants', icon: Bot },
  { to: '/settings/alerts', key: 'alertSettings.nav', icon: BellRing },
  { to: '/settings/numbers', key: 'studio.nav.numbers', icon: PhoneCall },
  { to: '/settings/widget', key: 'studio.nav.widget', icon: MessagesSquare },
  { to: '/settings/knowledge', key: 'knowledgeBase.nav', icon: Library },
  { to: '/settings/credentials', key: 'credentials.nav', icon: Lock, adminOnly: true },
  { to: '/settings/api-keys', key: 'admin.nav.apiKeys', icon: KeyRound, adminOnly: true },
  { to: '/settings/webhooks', key: 'admin.nav.webhooks', icon: Webhook },
  { to: '/settings/plan', key: 'admin.nav.plan', icon: Gauge },
  { to: '/settings/audit', key: 'admin.nav.audit', icon: ScrollText, adminOnly: true },
  { to: '/settings/privacy', key: 'admin.nav.privacy', icon: ShieldCheck },
  { to: '/settings/team', key: 'account.nav.team', icon: UserCog },
  { to: '/operator', key: 'admin.nav.operator', icon: Building, operatorOnly: true, exact: true },
  { to: '/operator/mailbox', key: 'account.nav.mailbox', icon: Mail, operatorOnly: true },
] as const;

type NavItem = (typeof NAV)[number];

/**
 * Whether the menu lists an entry: operator pages for operators only, and pages a member cannot even read (credentials,
 * API keys, audit log: the API answers 403) for owners and admins only.
 */
function shown(item: NavItem, isOperator: boolean, role: string | undefined): boolean {
  if ('operatorOnly' in item) return isOperator;
  if ('adminOnly' in item) return role === 'owner' || role === 'admin';
  return true;
}

function NavLinks({ onNavigate }: { onNavigate?: () => void }) {
  const { t } = useTranslation();
  const { isOperator, tenant } = useSession();
  return (
    <ul className="flex flex-col gap-0.5">
      {NAV.filter((item) => shown(item, isOperator, tenant?.role)).map((item) =>
        'group' in item ? (
          <li key={item.group} className="mt-4 px-3 pb-1 text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400">
            {t(item.group)}
          </li>
        ) : (
          <li key={item.to}>
            <Link
              to={item.to}
              onClick={onNavigate}
              activeOptions={{ exact: 'exact' in item }}
              className="flex items-center gap-3 rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
              activeProps={{ className: 'bg-brand-50 font-semibold text-brand-700 dark:bg-slate-800 dark:text-white', 'aria-current': 'page' }}
            >
              <item.icon aria-hidden className="size-4 shrink-0" />
              {t(item.key)}
            </Link>
          </li>
        ),
      )}
      <li className="mt-4">
        <a href="/docs" className="flex items-center gap-3 rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800">
          <BookOpen aria-hidden className="size-4 shrink-0" />
          {t('nav.apiReference')}
        </a>
      </li>
    </ul>
  );
}

function SidebarFooter() {
  const { t } = useTranslation();
  const session = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const signOut = async () => {
    try {
      await api.POST('/api/v1/auth/logout');
    } finally {
      qc.clear();
      void navigate({ to: '/sign-in', search: {} });
    }
  };
  return (
    <div className="flex flex-col gap-2 border-t border-slate-200 pt-3 dark:border-slate-800">
      <LanguageSelect />
      <ThemeSelect />
      <p className="truncate text-xs text-slate-600 dark:text-slate-400" title={session.user?.email ?? ''}>
        <bdi>{session.user?.email}</bdi>
      </p>
      <button
        type="button"
        onClick={() => void signOut()}
        className="flex items-center gap-2 rounded-md px-2 py-1.5 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
      >
        <LogOut aria-hidden className="size-4 rtl:rotate-180" />
        {t('prefs.signOut')}
      </button>
    </div>
  );
}

function Brand() {
  const session = useSession();
  return (
    <div className="flex items-center gap-2 px-3 py-2">
      <Activity aria-hidden className="size-5 text-brand-600" />
      <div className="min-w-0">
        <p className="font-semibold">Switchboard</p>
        <p className="truncate text-xs text-slate-600 dark:text-slate-400">{session.tenant?.name}</p>
      </div>
    </div>
  );
}

export function LiveDot() {
  const { t } = useTranslation();
  const c = useConnection();
  const label = t(`live.connection.${c}`);
  return (
    <span className="flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400" role="status" title={label}>
      <span aria-hidden className={cn('size-2 rounded-full', c === 'open' ? 'bg-emerald-500' : c === 'connecting' ? 'bg-amber-500' : 'bg-red-500')} />
      {label}
    </span>
  );
}

/** The authenticated layout: sidebar at the inline start (right in Hebrew and Arabic), a drawer below 768 px. */
export function AppShell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const { isOperator, tenant } = useSession();
  const pages = NAV.flatMap((item) =>
    'group' in item || !shown(item, isOperator, tenant?.role) ? [] : [{ to: item.to, label: t(item.key) }],
  );
  return (
    <div className="flex min-h-screen">
      <a href="#main" className="sr-only z-50 rounded bg-white p-2 focus:not-sr-only focus:fixed focus:start-2 focus:top-2 dark:bg-slate-900">
        {t('nav.skip')}
      </a>
      {/* The column stretches to the page's full height (its background covers long pages); the sidebar sticks inside it. */}
      <div data-testid="sidebar-column" className="hidden w-60 shrink-0 border-e border-slate-200 bg-white md:block dark:border-slate-800 dark:bg-slate-900">
        <aside aria-label={t('nav.label')} data-testid="sidebar" className="sticky top-0 flex h-screen flex-col justify-between overflow-y-auto p-3">
          <nav aria-label={t('nav.label')}>
            <Brand />
            <NavLinks />
          </nav>
          <SidebarFooter />
        </aside>
      </div>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-10 flex items-center justify-between gap-2 border-b border-slate-200 bg-white/90 px-4 py-2 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
          <Dialog.Root open={open} onOpenChange={setOpen}>
            <Dialog.Trigger asChild>
              <button type="button" className="rounded-md p-2 hover:bg-slate-100 md:hidden dark:hover:bg-slate-800" aria-label={t('nav.open')}>
                <Menu aria-hidden className="size-5" />
              </button>
            </Dialog.Trigger>
            <Dialog.Portal>
              <Dialog.Overlay className="fixed inset-0 z-20 bg-black/40" />
              <Dialog.Content className="fixed inset-y-0 start-0 z-30 flex w-72 max-w-[85vw] flex-col justify-between overflow-y-auto bg-white p-3 dark:bg-slate-900">
                <div>
                  <div className="flex items-center justify-between">
                    <Dialog.Title asChild>
                      <div>
                        <Brand />
                      </div>
                    </Dialog.Title>
                    <Dialog.Close className="rounded-md p-2 hover:bg-slate-100 dark:hover:bg-slate-800" aria-label={t('nav.close')}>
                      <X aria-hidden className="size-5" />
                    </Dialog.Close>
                  </div>
                  <Dialog.Description className="sr-only">{t('nav.label')}</Dialog.Description>
                  <nav aria-label={t('nav.label')}>
                    <NavLinks onNavigate={() => setOpen(false)} />
                  </nav>
                </div>
                <SidebarFooter />
              </Dialog.Content>
            </Dialog.Portal>
          </Dialog.Root>
          <span className="font-semibold md:hidden">Switchboard</span>
          <span className="ms-auto flex min-w-0 items-center gap-3">
            <CommandPalette pages={pages} />
            <OrgSwitcher />
            <LiveDot />
          </span>
        </header>
        <VerifyBanner />
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 p-4 outline-none md:p-6">
          {children}
        </main>
      </div>
    </div>
  );
}
