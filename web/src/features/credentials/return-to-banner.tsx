/** The shared "Back to onboarding" banner (one implementation for every settings page). */
export { ReturnToBanner } from '@/components/layout/return-to-banner';
