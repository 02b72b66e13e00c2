import { useCallback, useEffect, useRef, useState } from 'react';
import { csrfToken } from '@/lib/api/client';
import { patchOnboarding, type OnboardingDto, type OnboardingPatch } from './api';
import { patchFor, type Draft, type DraftStep } from './draft';

export type SaveStatus = 'idle' | 'dirty' | 'saving' | 'saved' | 'error';

/** How long after the last keystroke the wizard saves. */
export const AUTOSAVE_DELAY_MS = 2000;

/**
 * The wizard's draft and its autosave: edits mark their step dirty and save {@link AUTOSAVE_DELAY_MS} after the last
 * one, at once on blur (`flush`), and with a keep-alive request when the page is left. Saves are serialised: a
 * save started while another runs waits for it. `save(extra)` sends the dirty steps plus any other patch (navigation,
 * skips, secrets) and returns the new state.
 */
export function useAutosave(initial: Draft, termsVersion: string, onSaved: (state: OnboardingDto) => void) {
  const [draft, setDraft] = useState(initial);
  const [status, setStatus] = useState<SaveStatus>('idle');
  const [error, setError] = useState<unknown>(null);
  const draftRef = useRef(initial);
  const dirty = useRef(new Set<DraftStep>());
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const chain = useRef<Promise<unknown>>(Promise.resolve());
  const onSavedRef = useRef(onSaved);
  useEffect(() => {
    onSavedRef.current = onSaved;
  }, [onSaved]);

  const save = useCallback(
    (extra: OnboardingPatch = {}): Promise<OnboardingDto | null> => {
      clearTimeout(timer.current);
      const run = async (): Promise<OnboardingDto | null> => {
        const steps = [...dirty.current];
        const patch = { ...patchFor(draftRef.current, steps, termsVersion), ...extra };
        if (Object.keys(patch).length === 0) return null;
        dirty.current.clear();
        setStatus('saving');
        try {
          const state = await patchOnboarding(patch);
          setError(null);
          setStatus(dirty.current.size > 0 ? 'dirty' : 'saved');
          onSavedRef.current(state);
          return state;
        } catch (e) {
          steps.forEach((s) => dirty.current.add(s));
          setError(e);
          setStatus('error');
          throw e;
        }
      };
      const next = chain.current.then(run, run);
      chain.current = next.catch(() => undefined);
      return next;
    },
    [termsVersion],
  );

  const flush = useCallback(() => {
    if (dirty.current.size > 0) save().catch(() => undefined);
  }, [save]);

  const edit = useCallback(
    <S extends DraftStep>(step: S, change: Partial<Draft[S]>) => {
      const next = { ...draftRef.current, [step]: { ...draftRef.current[step], ...change } };
      draftRef.current = next;
      setDraft(next);
      dirty.current.add(step);
      setStatus('dirty');
      clearTimeout(timer.current);
      timer.current = setTimeout(flush, AUTOSAVE_DELAY_MS);
    },
    [flush],
  );

  /** Replaces the draft of steps the server changed (e.g. after a secret was saved); dirty steps keep their edits. */
  const reset = useCallback((fresh: Draft) => {
    const merged = { ...fresh };
    for (const s of dirty.current) (merged as Record<DraftStep, unknown>)[s] = draftRef.current[s];
    draftRef.current = merged;
    setDraft(merged);
  }, []);

  useEffect(() => {
    // Leaving the page (reload, close, navigation away from the app): send what is left with a keep-alive request.
    const leave = () => {
      if (dirty.current.size === 0) return;
      const body = JSON.stringify(patchFor(draftRef.current, dirty.current, termsVersion));
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      const token = csrfToken();
      if (token) headers['X-CSRF-Token'] = token;
      void fetch('/api/v1/onboarding', { method: 'PATCH', headers, body, credentials: 'same-origin', keepalive: true }).catch(() => undefined);
      dirty.current.clear();
    };
    const hidden = () => {
      if (document.visibilityState === 'hidden') leave();
    };
    window.addEventListener('beforeunload', leave);
    document.addEventListener('visibilitychange', hidden);
    return () => {
      window.removeEventListener('beforeunload', leave);
      document.removeEventListener('visibilitychange', hidden);
      clearTimeout(timer.current);
      leave(); // leaving the wizard inside the app (e.g. to Settings)
    };
  }, [termsVersion]);

  return { draft, edit, save, flush, reset, status, error };
}
