/**
 * The widget's CSS, adopted as a constructable stylesheet (no <style> element: a host page's CSP `style-src` does not
 * block it). Logical properties only, so right-to-left languages flip the layout with no extra rules.
 *
 * `:host{all:initial!important}`: the page's own rules on the <switchboard-widget> element win over a plain `:host` rule
 * (CSS Scoping 1 §3.3: for normal declarations the outer tree's win, for important ones the shadow tree's), so a page's
 * `opacity`, `filter` or `transform` on it faded the open chat over the page's text or broke its fixed position. `all`
 * leaves `direction` alone, so the page's right-to-left still reaches the widget. A page still hides the widget the standard
 * way, with the `hidden` attribute (`<switchboard-widget hidden>`, or `element.hidden = true` on a page where it should not show).
 */
/**
 * The viewports where the open chat covers the whole screen (its launcher and the page under it), as Chatwoot's and
 * Intercom's do on phones: there the chat is modal, its launcher leaves the layout and the Tab order while it is open (the
 * header's Close button closes it), and Tab goes round the chat's own controls instead of to the page hidden under it.
 * There the message box's text is 16 px: Safari on iPhone zooms the page in when a focused field's text is smaller, and
 * the chat then no longer fits the screen (WebKit's form-control zoom; 16 px is the threshold Intercom's and Crisp's keep).
 */
export const PHONE = "(max-width:640px)";

export const CSS = `
:host{all:initial!important}
:host([hidden]){display:none!important}
.root{--sb-accent:#2563eb;--sb-fg:#111827;--sb-bg:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic","Noto Sans Hebrew",sans-serif;color:var(--sb-fg)}
.root *{box-sizing:border-box;font:inherit;letter-spacing:normal;text-transform:none}
.launcher{position:fixed;inset-block-end:20px;inset-inline-end:20px;z-index:2147483000;min-inline-size:44px;min-block-size:44px;padding:10px 16px;border:0;border-radius:22px;background:var(--sb-accent);color:#fff;font-size:14px;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.2)}
.start .launcher,.start .panel{inset-inline-end:auto;inset-inline-start:20px}
.launcher:focus-visible,.panel button:focus-visible,.panel textarea:focus-visible{outline:3px solid var(--sb-accent);outline-offset:2px}
.log:focus-visible{outline:3px solid var(--sb-accent);outline-offset:-3px}
.panel{position:fixed;inset-block-end:80px;inset-inline-end:20px;z-index:2147483000;inline-size:380px;block-size:560px;max-block-size:calc(100vh - 100px);display:flex;flex-direction:column;background:var(--sb-bg);border-radius:12px;box-shadow:0 10px 40px rgba(0,0,0,.25);overflow:hidden}
.panel[hidden]{display:none}
.head{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--sb-accent);color:#fff}
.head img{inline-size:28px;block-size:28px;border-radius:50%}
.head h2{flex:1;margin:0;font-size:15px;font-weight:600}
.head button{min-inline-size:44px;min-block-size:44px;border:0;background:transparent;color:#fff;font-size:20px;cursor:pointer}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.msg{max-inline-size:85%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.assistant{align-self:flex-start;background:#f3f4f6}
.user{align-self:flex-end;background:var(--sb-accent);color:#fff}
.user.pending{opacity:.6}
.user.failed{opacity:.6;text-decoration:line-through}
.note{align-self:center;color:#b91c1c;font-size:12px}
.typing{align-self:flex-start;display:flex;gap:4px;align-items:center;min-block-size:34px;background:#f3f4f6}
.typing .dot{inline-size:6px;block-size:6px;border-radius:50%;background:#6b7280;opacity:.5}
.sr{position:absolute;inline-size:1px;block-size:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
form{display:flex;gap:8px;padding:10px;border-block-start:1px solid #e5e7eb}
textarea{flex:1;resize:none;min-block-size:44px;max-block-size:120px;padding:10px;border:1px solid #d1d5db;border-radius:8px;color:var(--sb-fg);background:#fff}
form button{min-inline-size:44px;min-block-size:44px;padding:0 14px;border:0;border-radius:8px;background:var(--sb-accent);color:#fff;font-weight:600;cursor:pointer}
form button:disabled{opacity:.6;cursor:default}
form .mic{padding:0 10px;background:#fff;border:1px solid var(--sb-accent);color:var(--sb-accent)}
form .mic svg{display:block;margin-inline:auto}
form .mic[aria-pressed=true]{background:var(--sb-accent);color:#fff}
@media ${PHONE}{.panel{inset:0;inline-size:auto;block-size:auto;max-block-size:none;border-radius:0}.panel:not([hidden])~.launcher{display:none}.root textarea{font-size:16px}}
@media (prefers-reduced-motion:no-preference){.panel{transition:opacity .15s}.typing .dot{animation:sb-blink 1.2s infinite}.typing .dot:nth-child(3){animation-delay:.2s}.typing .dot:nth-child(4){animation-delay:.4s}}
@keyframes sb-blink{0%,80%,100%{opacity:.3}40%{opacity:1}}
`;
