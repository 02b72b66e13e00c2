import { createFileRoute } from '@tanstack/react-router';
import { SmsPage } from '@/features/sms/sms-page';

export const Route = createFileRoute('/_app/sms')({ component: SmsPage });
