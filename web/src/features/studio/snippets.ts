/** Install snippets for the widget, per platform (issue 9 §3 "Widget"); `key` is the publishable key (pk_live_…). */
export const PLATFORMS = ['html', 'wordpress', 'shopify', 'react'] as const;
export type Platform = (typeof PLATFORMS)[number];

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** True for a host only its own machine reaches: `localhost` (and `*.localhost`), 127.0.0.0/8, `[::1]`, `0.0.0.0`. */
function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(h) || h === '[::1]' || h === '0.0.0.0' || h === '[::]';
}

/**
 * The script URL to print in the install snippet. The server's `scriptUrl` is built from `Switchboard:PublicBaseUrl`;
 * when that is not configured it names the listening address with a loopback host written `localhost`, which is only
 * a guess: the dashboard opened as `http://127.0.0.1:8084` (or from another machine at `http://192.168.1.5:8084`)
 * printed `http://localhost:8084/widget.js`, a host that is not the one the owner reaches this installation at. A
 * loopback script URL is therefore replaced by the dashboard's own origin (`pageOrigin`), which is known to serve
 * `/widget.js`; a configured public URL (any other host) is kept as it is.
 */
export function installScriptUrl(scriptUrl: string, pageOrigin: string): string {
  let server: URL;
  let page: URL;
  try {
    server = new URL(scriptUrl);
    page = new URL(pageOrigin);
  } catch {
    return scriptUrl;
  }
  if (!isLoopbackHost(server.hostname) || page.origin === server.origin || !/^https?:$/.test(page.protocol)) return scriptUrl;
  return `${page.origin}${server.pathname}${server.search}`;
}

/** The one script tag every platform ends up with. */
export function scriptTag(scriptUrl: string, key: string): string {
  return `<script src="${attr(scriptUrl)}" data-key="${attr(key)}" async></script>`;
}

export function snippet(platform: Platform, scriptUrl: string, key: string): string {
  const tag = scriptTag(scriptUrl, key);
  switch (platform) {
    case 'html':
      return tag;
    case 'wordpress':
      return [
        '<?php',
        '// functions.php of your (child) theme, or a code-snippets plugin',
        "add_action('wp_footer', function () { ?>",
        `  ${tag}`,
        '<?php });',
      ].join('\n');
    case 'shopify':
      return ['{% comment %} layout/theme.liquid, just before </body> {% endcomment %}', tag].join('\n');
    case 'react':
      return [
        "import { useEffect } from 'react';",
        '',
        '/** Loads the Switchboard chat widget once; render it in your root layout. */',
        'export function SwitchboardWidget() {',
        '  useEffect(() => {',
        "    if (document.querySelector('script[data-switchboard]')) return;",
        "    const s = document.createElement('script');",
        `    s.src = ${JSON.stringify(scriptUrl)};`,
        `    s.dataset.key = ${JSON.stringify(key)};`,
        "    s.dataset.switchboard = '';",
        '    s.async = true;',
        '    document.body.appendChild(s);',
        '  }, []);',
        '  return null;',
        '}',
      ].join('\n');
  }
}

/**
 * The live preview's document (an iframe `srcdoc`): the real widget script from this host, so it runs under the
 * dashboard's own CSP (script-src 'self') and talks to /widget/v1 from the dashboard's origin, which the host allows.
 */
export function previewDocument(scriptUrl: string, key: string, lang: string, position: string, dir: 'ltr' | 'rtl'): string {
  return (
    `<!doctype html><html lang="${attr(lang)}" dir="${dir}"><head><meta charset="utf-8"><title>Preview</title></head>` +
    `<body style="margin:0;font:14px system-ui,sans-serif;background:#f1f5f9;color:#0f172a">` +
    `<script src="${attr(scriptUrl)}" data-key="${attr(key)}" data-lang="${attr(lang)}" data-position="${attr(position)}" async></script>` +
    `</body></html>`
  );
}
