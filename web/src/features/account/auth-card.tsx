import type { ReactNode } from 'react';
import { Card } from '@/components/ui/ui';
import { LanguageSelect } from '@/components/layout/preferences';

/** The centred card every signed-out page uses: a title, the language picker, the form. */
export function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <Card className="w-full max-w-sm">
        <div className="mb-4 flex items-center justify-between gap-2">
          <h1 className="text-lg font-semibold">{title}</h1>
          <LanguageSelect compact />
        </div>
        {children}
      </Card>
    </main>
  );
}

/** A confirmation shown in place of a form (polite live region). */
export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="rounded-md border border-emerald-300 bg-emerald-50 p-3 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-200">
      {children}
    </p>
  );
}

export const linkClass = 'text-sm font-medium text-brand-700 underline-offset-2 hover:underline dark:text-sky-300';
