using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Platform.Http;

/// <summary>
/// <c>GET /docs</c>: a self-contained API reference page (no CDN; installations may be offline) that renders
/// <c>/openapi/v1.json</c> in the browser: operations by tag with their authentication, parameters, request and
/// response schemas (references resolved) and error codes, then every schema. Untrusted text is only ever inserted
/// as text nodes. A strict Content-Security-Policy allows exactly the page's inline script and style (by hash).
/// </summary>
internal static class ApiReference
{
    private const string Style = """
        :root{--fg:#1b1f24;--muted:#5b6470;--line:#e3e6ea;--bg:#fff;--code:#f4f6f8;--get:#1f7a3a;--post:#1f4f9a;--put:#8a5a00;--patch:#6b3fa0;--delete:#a12a2a}
        *{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        header{padding:16px 24px;border-bottom:1px solid var(--line);display:flex;gap:16px;align-items:center;flex-wrap:wrap}
        header h1{font-size:20px;margin:0}header p{margin:0;color:var(--muted);flex:1 1 300px}
        #filter{padding:6px 10px;border:1px solid var(--line);border-radius:6px;min-width:240px}
        .layout{display:flex}nav{width:260px;flex:none;border-right:1px solid var(--line);padding:12px 16px;position:sticky;top:0;max-height:100vh;overflow:auto}
        nav a{display:block;color:var(--fg);text-decoration:none;padding:2px 0;font-size:14px}nav a:hover{text-decoration:underline}
        nav .tag{font-weight:600;margin-top:10px}main{flex:1;padding:8px 24px 48px;min-width:0}
        section.op{border:1px solid var(--line);border-radius:8px;margin:12px 0;padding:12px 16px}
        .method{display:inline-block;min-width:64px;text-align:center;color:#fff;border-radius:4px;padding:1px 6px;font-weight:600;font-size:13px;margin-right:8px}
        .GET{background:var(--get)}.POST{background:var(--post)}.PUT{background:var(--put)}.PATCH{background:var(--patch)}.DELETE{background:var(--delete)}
        .path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:14px}h2{margin:24px 0 4px}h3{font-size:15px;margin:12px 0 4px}
        .muted{color:var(--muted)}table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-top:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
        code,.schema{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}.schema{background:var(--code);border-radius:6px;padding:8px 12px;overflow:auto}
        .schema ul{list-style:none;margin:0;padding-left:16px}.schema>ul{padding-left:0}.req{color:var(--delete)}.type{color:var(--post)}a.ref{color:var(--patch)}
        .lock{font-size:13px;color:var(--muted)}
        """;

    private const string Script = """
        (async () => {
          const main = document.getElementById('main'), nav = document.getElementById('nav');
          const el = (tag, attrs, ...children) => {
            const e = document.createElement(tag);
            for (const [k, v] of Object.entries(attrs || {})) { if (k === 'class') e.className = v; else e.setAttribute(k, v); }
            for (const c of children) { if (c !== null && c !== undefined) e.append(typeof c === 'string' ? document.createTextNode(c) : c); }
            return e;
          };
          let doc;
          try { doc = await (await fetch('/openapi/v1.json', { credentials: 'omit' })).json(); }
          catch (e) { main.textContent = 'Could not load /openapi/v1.json: ' + e; return; }
          const schemas = (doc.components && doc.components.schemas) || {};
          const refName = s => (s && s.$ref) ? s.$ref.split('/').pop() : null;
          const typeText = s => {
            if (!s) return 'any';
            const r = refName(s); if (r) return r;
            if (s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array'))) return typeText(s.items) + '[]';
            if (s.enum) return s.enum.join(' | ');
            const t = Array.isArray(s.type) ? s.type.filter(x => x !== 'null').join('|') + (s.type.includes('null') ? '?' : '') : (s.type || (s.properties ? 'object' : 'any'));
            return s.format ? t + ' (' + s.format + ')' : t;
          };
          const schemaTree = (s, depth) => {
            const r = refName(s);
            if (r) { const a = el('a', { class: 'ref', href: '#schema-' + r }, r); if (depth > 1 || !schemas[r]) return a; return el('span', {}, a, schemaTree(schemas[r], depth + 1)); }
            if (!s) return el('span', { class: 'type' }, 'any');
            if ((s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array'))) && s.items) return el('span', {}, el('span', { class: 'type' }, 'array of '), schemaTree(s.items, depth));
            if (s.properties) {
              const ul = el('ul');
              const required = new Set(s.required || []);
              for (const [name, p] of Object.entries(s.properties)) {
                ul.append(el('li', {}, el('b', {}, name), required.has(name) ? el('span', { class: 'req' }, '*') : null, ': ',
                  el('span', { class: 'type' }, typeText(p)), p.description ? el('span', { class: 'muted' }, ' — ' + p.description) : null,
                  (depth < 2 && (p.properties || (p.items && p.items.properties))) ? schemaTree(p, depth + 1) : null));
              }
              return ul;
            }
            return el('span', { class: 'type' }, typeText(s));
          };
          const body = content => {
            if (!content) return null;
            const [type, media] = Object.entries(content)[0] || [];
            return media ? el('div', { class: 'schema' }, el('div', { class: 'muted' }, type), schemaTree(media.schema, 0)) : null;
          };
          const info = doc.info || {};
          document.getElementById('desc').textContent = (info.title || 'API') + ' ' + (info.version || '') + ' — ' + (info.description || '');
          const byTag = new Map();
          for (const [path, ops] of Object.entries(doc.paths || {})) {
            for (const [method, op] of Object.entries(ops)) {
              if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
              const tag = (op.tags && op.tags[0]) || 'Other';
              if (!byTag.has(tag)) byTag.set(tag, []);
              byTag.get(tag).push({ path, method: method.toUpperCase(), op });
            }
          }
          main.textContent = '';
          const schemes = (doc.components && doc.components.securitySchemes) || {};
          main.append(el('h2', {}, 'Authentication'));
          const authList = el('ul');
          for (const [name, s] of Object.entries(schemes)) authList.append(el('li', {}, el('b', {}, name), ' (' + s.type + (s.in ? ', ' + s.in + ' ' + s.name : '') + (s.scheme ? ', ' + s.scheme : '') + '): ' + (s.description || '')));
          main.append(authList);
          let n = 0;
          for (const [tag, list] of byTag) {
            nav.append(el('div', { class: 'tag' }, tag));
            main.append(el('h2', { id: 'tag-' + tag }, tag));
            for (const { path, method, op } of list) {
              const id = 'op-' + (n++);
              nav.append(el('a', { href: '#' + id, 'data-text': (method + ' ' + path + ' ' + (op.summary || '')).toLowerCase() }, method + ' ' + path));
              const sec = el('section', { class: 'op', id, 'data-text': (method + ' ' + path + ' ' + (op.summary || '') + ' ' + tag).toLowerCase() },
                el('div', {}, el('span', { class: 'method ' + method }, method), el('span', { class: 'path' }, path)),
                op.summary ? el('div', {}, el('b', {}, op.summary)) : null,
                op.description ? el('p', { class: 'muted' }, op.description) : null,
                el('div', { class: 'lock' }, op.security && op.security.length ? 'Authentication: ' + op.security.map(r => Object.keys(r).join(' + ')).join(' or ') : 'No authentication'));
              if (op.parameters && op.parameters.length) {
                const t = el('table', {}, el('tr', {}, el('th', {}, 'Parameter'), el('th', {}, 'In'), el('th', {}, 'Type'), el('th', {}, 'Description')));
                for (const p of op.parameters) t.append(el('tr', {}, el('td', {}, el('code', {}, p.name), p.required ? el('span', { class: 'req' }, '*') : null), el('td', {}, p.in), el('td', {}, typeText(p.schema)), el('td', {}, p.description || '')));
                sec.append(el('h3', {}, 'Parameters'), t);
              }
              if (op.requestBody) sec.append(el('h3', {}, 'Request body'), body(op.requestBody.content));
              const rt = el('table', {}, el('tr', {}, el('th', {}, 'Status'), el('th', {}, 'Meaning'), el('th', {}, 'Body')));
              for (const [status, r] of Object.entries(op.responses || {})) {
                rt.append(el('tr', {}, el('td', {}, el('code', {}, status)), el('td', {}, r.description || ''), el('td', {}, r.content ? body(r.content) : el('span', { class: 'muted' }, 'none'))));
              }
              sec.append(el('h3', {}, 'Responses'), rt);
              main.append(sec);
            }
          }
          main.append(el('h2', { id: 'schemas' }, 'Schemas'));
          nav.append(el('div', { class: 'tag' }, el('a', { href: '#schemas' }, 'Schemas')));
          for (const [name, s] of Object.entries(schemas)) {
            main.append(el('section', { class: 'op', id: 'schema-' + name, 'data-text': name.toLowerCase() }, el('b', {}, name),
              s.description ? el('p', { class: 'muted' }, s.description) : null, el('div', { class: 'schema' }, schemaTree(s, 0))));
          }
          document.getElementById('filter').addEventListener('input', ev => {
            const q = ev.target.value.trim().toLowerCase();
            for (const node of document.querySelectorAll('[data-text]')) node.style.display = !q || node.getAttribute('data-text').includes(q) ? '' : 'none';
          });
        })();
        """;

    private static readonly string Html =
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">" +
        "<title>Switchboard API reference</title><style>" + Style + "</style></head><body>" +
        "<header><h1>Switchboard API reference</h1><p id=\"desc\"></p><input id=\"filter\" type=\"search\" placeholder=\"Filter operations and schemas\" aria-label=\"Filter\"></header>" +
        "<div class=\"layout\"><nav id=\"nav\" aria-label=\"Operations\"></nav><main id=\"main\"><p>Loading /openapi/v1.json…</p></main></div>" +
        "<script>" + Script + "</script></body></html>";

    private static readonly string Policy =
        $"default-src 'none'; script-src 'sha256-{Hash(Script)}'; style-src 'sha256-{Hash(Style)}'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static string Hash(string text) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static IEndpointRouteBuilder MapApiReference(this IEndpointRouteBuilder app)
    {
        app.MapGet("/docs", (HttpContext http) =>
        {
            http.Response.Headers.ContentSecurityPolicy = Policy;
            http.Response.Headers.XContentTypeOptions = "nosniff";
            http.Response.Headers["Referrer-Policy"] = "no-referrer";
            return Results.Content(Html, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        return app;
    }
}
