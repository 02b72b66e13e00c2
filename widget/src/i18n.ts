/** The widget's own text in its six languages (inlined: no i18n library). */
export interface Strings {
  launcher: string;
  title: string;
  greeting: string;
  placeholder: string;
  send: string;
  close: string;
  error: string;
  busy: string;
  /** The business's monthly chat allowance is used up (CHAT_QUOTA_EXCEEDED): no wait helps, another way of reaching it does. */
  unavailable: string;
  tooLong: string;
  /** Read by screen readers while the answer is awaited (the three dots shown). */
  typing: string;
  /** The transcript's name (the message log, reachable with Tab so it can be scrolled from the keyboard). */
  messages: string;
  /** The answer stopped part-way (the connection dropped): what is shown is incomplete. */
  cut: string;
  /** The microphone button: start a voice conversation, and end it. */
  talk: string;
  hangUp: string;
  /** Voice could not start: the browser refused the microphone, or voice is unavailable; the chat goes on in text. */
  micDenied: string;
  voiceOff: string;
}

export const STRINGS: Record<string, Strings> = {
  en: {
    messages: "Messages", launcher: "Chat with us", typing: "Typing an answer…", title: "Chat", greeting: "Hello! How can we help you?", placeholder: "Write a message…", send: "Send",
    close: "Close chat", error: "Sorry, the message could not be sent. Please try again.", unavailable: "Chat is not available right now. Please contact us another way.", busy: "Too many messages; please wait a minute.",
    tooLong: "This message is too long.", cut: "The answer was interrupted. Please send your message again.", talk: "Talk to us", hangUp: "End the call",
    micDenied: "The microphone is not available. You can keep writing here.", voiceOff: "Voice is not available right now. You can keep writing here.",
  },
  fr: {
    messages: "Messages", launcher: "Écrivez-nous", typing: "Réponse en cours de rédaction…", title: "Clavardage", greeting: "Bonjour! Comment pouvons-nous vous aider?", placeholder: "Écrivez un message…",
    send: "Envoyer", close: "Fermer la conversation", error: "Désolé, le message n’a pas pu être envoyé. Réessayez.",
    unavailable: "Le clavardage n’est pas disponible pour l’instant. Joignez-nous autrement.", busy: "Trop de messages; patientez une minute.", tooLong: "Ce message est trop long.", cut: "La réponse a été interrompue. Envoyez votre message de nouveau.", talk: "Parlez-nous", hangUp: "Raccrocher",
    micDenied: "Le micro n’est pas disponible. Vous pouvez continuer par écrit ici.", voiceOff: "La voix n’est pas disponible pour l’instant. Vous pouvez continuer par écrit ici.",
  },
  es: {
    messages: "Mensajes", launcher: "Escríbenos", typing: "Escribiendo una respuesta…", title: "Chat", greeting: "¡Hola! ¿En qué podemos ayudarle?", placeholder: "Escriba un mensaje…", send: "Enviar",
    close: "Cerrar el chat", error: "No se pudo enviar el mensaje. Inténtelo de nuevo.", unavailable: "El chat no está disponible ahora. Contáctenos por otro medio.", busy: "Demasiados mensajes; espere un minuto.",
    tooLong: "El mensaje es demasiado largo.", cut: "La respuesta se interrumpió. Envíe su mensaje de nuevo.", talk: "Hable con nosotros", hangUp: "Colgar",
    micDenied: "El micrófono no está disponible. Puede seguir escribiendo aquí.", voiceOff: "La voz no está disponible ahora. Puede seguir escribiendo aquí.",
  },
  de: {
    messages: "Nachrichten", launcher: "Schreiben Sie uns", typing: "Antwort wird geschrieben…", title: "Chat", greeting: "Hallo! Wie können wir helfen?", placeholder: "Nachricht schreiben…", send: "Senden",
    close: "Chat schließen", error: "Die Nachricht konnte nicht gesendet werden. Bitte erneut versuchen.",
    unavailable: "Der Chat ist gerade nicht verfügbar. Bitte kontaktieren Sie uns auf anderem Weg.", busy: "Zu viele Nachrichten; bitte eine Minute warten.", tooLong: "Die Nachricht ist zu lang.", cut: "Die Antwort wurde unterbrochen. Bitte senden Sie Ihre Nachricht erneut.", talk: "Mit uns sprechen", hangUp: "Auflegen",
    micDenied: "Das Mikrofon ist nicht verfügbar. Sie können hier weiterschreiben.", voiceOff: "Sprache ist gerade nicht verfügbar. Sie können hier weiterschreiben.",
  },
  ar: {
    messages: "الرسائل", launcher: "تحدث معنا", typing: "جارٍ كتابة الرد…", title: "محادثة", greeting: "مرحبا! كيف يمكننا مساعدتك؟", placeholder: "اكتب رسالة…", send: "إرسال",
    close: "إغلاق المحادثة", error: "عذرا، تعذر إرسال الرسالة. حاول مرة أخرى.", unavailable: "المحادثة غير متاحة حاليا. تواصل معنا بطريقة أخرى.", busy: "رسائل كثيرة جدا؛ انتظر دقيقة.",
    tooLong: "هذه الرسالة طويلة جدا.", cut: "انقطع الرد. أرسل رسالتك مرة أخرى.", talk: "تحدث إلينا صوتيا", hangUp: "إنهاء المكالمة",
    micDenied: "الميكروفون غير متاح. يمكنك متابعة الكتابة هنا.", voiceOff: "الصوت غير متاح حاليا. يمكنك متابعة الكتابة هنا.",
  },
  he: {
    messages: "הודעות", launcher: "דברו איתנו", typing: "כותבים תשובה…", title: "צ'אט", greeting: "שלום! איך נוכל לעזור?", placeholder: "כתבו הודעה…", send: "שליחה",
    close: "סגירת הצ'אט", error: "ההודעה לא נשלחה. נסו שוב.", unavailable: "הצ'אט אינו זמין כרגע. צרו איתנו קשר בדרך אחרת.", busy: "יותר מדי הודעות; המתינו דקה.", tooLong: "ההודעה ארוכה מדי.", cut: "התשובה נקטעה. שלחו את ההודעה שוב.", talk: "דברו איתנו בקול", hangUp: "סיום השיחה",
    micDenied: "המיקרופון אינו זמין. אפשר להמשיך לכתוב כאן.", voiceOff: "הקול אינו זמין כרגע. אפשר להמשיך לכתוב כאן.",
  },
};

export const RTL = new Set(["ar", "he"]);

/**
 * The note shown when a message was refused with HTTP `status` and the envelope's `code`: a used-up monthly chat allowance
 * (429 `CHAT_QUOTA_EXCEEDED`) says chat is unavailable, since waiting does not help; another 429 asks to wait; anything else
 * is the generic error.
 */
export function refusalNote(t: Strings, status: number, code?: string | null): string {
  if (status !== 429) return t.error;
  return code === "CHAT_QUOTA_EXCEEDED" ? t.unavailable : t.busy;
}

/**
 * The widget's language: `data-lang`, then the tenant's default, then the page's `<html lang>`, then the browser's
 * languages; the first that is supported (compared by primary subtag), else English.
 */
export function pickLanguage(candidates: ReadonlyArray<string | null | undefined>): string {
  for (const candidate of candidates) {
    const primary = candidate?.trim().toLowerCase().split(/[-_]/)[0];
    if (primary && primary in STRINGS) return primary;
  }
  return "en";
}
