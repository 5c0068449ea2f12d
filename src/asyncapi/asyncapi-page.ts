import { createHash } from 'node:crypto';
import type { AsyncApiDocument, AsyncApiMessage, AsyncApiOperation } from './asyncapi-document';

type Schema = Readonly<Record<string, unknown>>;

/** Keywords shown as a field's constraints, in this order. */
const CONSTRAINTS = [
  'const',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'maxItems',
  'default',
] as const;

const STYLE = [
  'body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}',
  'table{border-collapse:collapse;margin:.5rem 0 1rem}',
  'th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}',
  'th{background:#f3f3f3}',
  'code,pre{background:#f6f6f6;font-size:.9em}',
  'pre{padding:.5rem;overflow:auto}',
  'section{border-top:1px solid #ddd;margin-top:1.5rem}',
].join('');

export interface RenderedPage {
  html: string;
  /** Nothing loads but this page's own style sheet: no script at all. */
  contentSecurityPolicy: string;
}

/**
 * The AsyncAPI document as one static HTML page: the connection, then a table per client frame
 * and per server event with its payload's fields, and the whole schema beside it. Rendered once.
 */
export function renderAsyncApiPage(document: AsyncApiDocument): RenderedPage {
  const channel = Object.values(document.channels)[0];
  const replies = repliesByMessage(document.operations);
  const messages = Object.entries(document.components.messages);
  const section = (direction: string) =>
    messages
      .filter(([key]) => key.startsWith(`${direction}-`))
      .map(([key, message]) => renderMessage(key, message, replies.get(key)))
      .join('\n');
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escape(document.info.title)} ${escape(document.info.version)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escape(document.info.title)} <small>${escape(document.info.version)}</small></h1>`,
    markdown(document.info.description),
    '<p>The document: <a href="/asyncapi.json">/asyncapi.json</a> (AsyncAPI ' +
      `${escape(document.asyncapi)}). The REST API: <a href="/docs">/docs</a>.</p>`,
    `<h2>The connection: <code>${escape(channel.address)}</code></h2>`,
    markdown(channel.description),
    '<h2>Frames a client sends</h2>',
    section('client'),
    '<h2>Events the server sends</h2>',
    section('server'),
    '</body>',
    '</html>',
    '',
  ].join('\n');
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  return {
    html,
    contentSecurityPolicy:
      `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; ` +
      "form-action 'none'; frame-ancestors 'none'",
  };
}

/** Which events answer a client frame: its operation's reply. */
function repliesByMessage(operations: Record<string, AsyncApiOperation>): Map<string, string[]> {
  const replies = new Map<string, string[]>();
  for (const operation of Object.values(operations)) {
    if (operation.reply) {
      replies.set(
        lastSegment(operation.messages[0].$ref),
        operation.reply.messages.map((reply) => lastSegment(reply.$ref)),
      );
    }
  }
  return replies;
}

function lastSegment(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

function renderMessage(key: string, message: AsyncApiMessage, replies?: string[]): string {
  const data = ((message.payload.properties ?? {}) as Record<string, Schema>).data ?? {};
  const answered = replies
    ? `<p>Answered with ${replies
        .map((reply) => `<a href="#${escape(reply)}"><code>${escape(eventOf(reply))}</code></a>`)
        .join(' or ')}.</p>`
    : '';
  return [
    `<section id="${escape(key)}">`,
    `<h3><code>${escape(message.name)}</code></h3>`,
    `<p>${inline(message.summary)}</p>`,
    answered,
    fieldsTable(data),
    message.description ? markdown(message.description) : '',
    '<details><summary>JSON Schema of the frame</summary>',
    `<pre>${escape(JSON.stringify(message.payload, null, 2))}</pre>`,
    '</details>',
    '</section>',
  ].join('\n');
}

function eventOf(key: string): string {
  return key.slice(key.indexOf('-') + 1);
}

/** `data`'s fields, one row each; a payload that is no object of fields gets none. */
function fieldsTable(data: Schema): string {
  const properties = (data.properties ?? {}) as Record<string, Schema>;
  const required = new Set((data.required ?? []) as string[]);
  const names = Object.keys(properties);
  if (names.length === 0) {
    return '<p><code>data</code> is <code>{}</code>.</p>';
  }
  const rows = names.map((name) => {
    const field = properties[name];
    return (
      `<tr><td><code>${escape(name)}</code></td><td>${escape(typeOf(field))}</td>` +
      `<td>${required.has(name) ? 'yes' : 'no'}</td><td>${constraintsOf(field)}</td>` +
      `<td>${inline(typeof field.description === 'string' ? field.description : '')}</td></tr>`
    );
  });
  return [
    '<table>',
    '<tr><th><code>data</code> field</th><th>type</th><th>required</th><th>constraints</th>' +
      '<th>meaning</th></tr>',
    ...rows,
    '</table>',
  ].join('\n');
}

function typeOf(field: Schema): string {
  const types: unknown[] = Array.isArray(field.type) ? field.type : [field.type ?? 'any'];
  const type = types.join(' | ');
  const items = field.items as Schema | undefined;
  if (type === 'array' && items?.oneOf) {
    const kinds = (items.oneOf as Schema[]).map(
      (entry) => ((entry.properties as Record<string, Schema>).kind?.const as string) ?? '?',
    );
    return `array of entries (kind ${kinds.join(' | ')})`;
  }
  return type;
}

function constraintsOf(field: Schema): string {
  return CONSTRAINTS.filter((keyword) => field[keyword] !== undefined)
    .map((keyword) => `${keyword}: <code>${escape(JSON.stringify(field[keyword]))}</code>`)
    .join('<br>');
}

/** The little Markdown the document uses: paragraphs, tables and `code`. */
function markdown(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((block) => (block.startsWith('|') ? table(block) : `<p>${inline(block)}</p>`))
    .join('\n');
}

function table(block: string): string {
  const rows = block
    .split('\n')
    .filter((line) => !/^\|[\s|-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  const [head, ...body] = rows;
  return [
    '<table>',
    `<tr>${head.map((cell) => `<th>${inline(cell)}</th>`).join('')}</tr>`,
    ...body.map((row) => `<tr>${row.map((cell) => `<td>${inline(cell)}</td>`).join('')}</tr>`),
    '</table>',
  ].join('\n');
}

function inline(text: string): string {
  return escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
