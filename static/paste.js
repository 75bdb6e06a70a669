// What a pasted client secret really is: the same cleaning and refusals as
// ClientSecretInput::parse on the server (src/domain/azure.rs), so the
// customer sees as they type what the server will make of it. Both are
// tested against one list of pastes (tests/paste-cases.json).
//
// classify(raw, { clientId, entraTenant }) returns
//   { value, cleaned: [codes], refused: code or "" }
// with the codes the server uses; the page turns codes into sentences.

// Rust's char::is_whitespace (Unicode White_Space) and the invisible
// characters rich-text copies add; JavaScript's \s lacks U+0085 and has
// U+FEFF, which is invisible anyway.
const INVISIBLE = "\\u00a0\\u00ad\\u200b\\u200c\\u200d\\u202f\\u2060\\ufeff";
const TRIMMABLE = `\\s\\u0085${INVISIBLE}`;
const INVISIBLE_ANY = new RegExp(`[${INVISIBLE}]`, "g");
const LEADING = new RegExp(`^[${TRIMMABLE}]+`);
const TRAILING = new RegExp(`[${TRIMMABLE}]+$`);
const TRIMMABLE_RUN = new RegExp(`[${TRIMMABLE}]+`);
const LINE_BREAK = /[\n\r\u000b\u000c\u0085\u2028\u2029]/;
const CONTROL = /\p{Cc}/u;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SECRET_CHARS = /^[A-Za-z0-9_~.-]*$/;
const MIN_CHARS = 16;

// Three characters, a marker, random characters: 40 in all today, 37 in
// older secrets.
export const GENERATIONS = [
  { marker: "8Q~", length: 40 },
  { marker: "7Q~", length: 37 },
];

const LABELS = [
  "application (client) id",
  "directory (tenant) id",
  "client secret value",
  "client_secret_value",
  "client_secret",
  "client-secret",
  "clientsecret",
  "client secret",
  "secret value",
  "secret_id",
  "secret id",
  "secretid",
  "tenant id",
  "client id",
  "password",
  "secret",
  "value",
];

const QUOTES = [
  ['"', '"'],
  ["'", "'"],
  ["`", "`"],
  ["\u201c", "\u201d"],
  ["\u201d", "\u201d"],
  ["\u201e", "\u201c"],
  ["\u2018", "\u2019"],
  ["\u2019", "\u2019"],
  ["\u201a", "\u2018"],
  ["\u00ab", "\u00bb"],
  ["\u00bb", "\u00ab"],
];

const MASK_TAIL = /[*\u2022\u25cf\u2026]+$/u;

const trim = (text) => text.replace(LEADING, "").replace(TRAILING, "");
const chars = (text) => [...text].length;
const asciiLower = (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());
const isQuote = (c) => QUOTES.some(([open, close]) => open === c || close === c);

export const stripBraces = (text) =>
  text.length >= 2 && text.startsWith("{") && text.endsWith("}") ? text.slice(1, -1) : text;

export const isGuid = (text) => GUID.test(stripBraces(text));

export function isGenerated(value) {
  if (!SECRET_CHARS.test(value)) {
    return false;
  }
  const marker = value.slice(3, 6);
  return GENERATIONS.some((g) => marker === g.marker && value.length === g.length);
}

function sameIdentifier(value, configured) {
  const known = stripBraces(String(configured || "").trim());
  return known !== "" && asciiLower(stripBraces(value)) === asciiLower(known);
}

export function isMasked(value) {
  const tail = value.match(MASK_TAIL);
  let shown = tail ? value.slice(0, tail.index) : value;
  const hidden = tail ? chars(tail[0]) : 0;
  const dots = shown.endsWith("...");
  if (dots) {
    shown = shown.slice(0, -3);
  }
  return (hidden >= 3 || value.endsWith("\u2026") || dots) && chars(shown) <= 6;
}

class Refusal {
  constructor(code) {
    this.code = code;
  }
}

function cliOutput(text, known) {
  if (!(text.startsWith("{") && text.endsWith("}") && text.includes('"'))) {
    return null;
  }
  let output;
  try {
    output = JSON.parse(text);
  } catch {
    return null;
  }
  if (output === null || typeof output !== "object" || Array.isArray(output)) {
    return null;
  }
  const field = (name) => (output[name] === undefined || output[name] === null ? null : output[name]);
  const [password, appId, tenant] = ["password", "appId", "tenant"].map(field);
  if ([password, appId, tenant].some((v) => v !== null && typeof v !== "string")) {
    return null;
  }
  if (password === null && appId === null && tenant === null) {
    return null;
  }
  if (appId !== null && String(known.clientId || "").trim() !== "" && !sameIdentifier(appId, known.clientId)) {
    throw new Refusal("other_app");
  }
  if (tenant !== null && isGuid(String(known.entraTenant || "").trim()) && !sameIdentifier(tenant, known.entraTenant)) {
    throw new Refusal("other_tenant");
  }
  if (password === null) {
    throw new Refusal("cli_output_without_password");
  }
  return password;
}

function portalRow(text) {
  const cells = text
    .split("\t")
    .map(trim)
    .filter((cell) => cell !== "");
  const guidAt = cells.findIndex(isGuid);
  const secretId = guidAt >= 0 ? asciiLower(stripBraces(cells[guidAt])) : null;
  const generated = cells.filter(isGenerated);
  let value = null;
  if (generated.length === 1) {
    value = generated[0];
  } else if (generated.length === 0 && guidAt > 0) {
    value = cells[guidAt - 1];
  }
  if (value !== null && isMasked(value)) {
    throw new Refusal("masked_value");
  }
  if (value !== null) {
    return { value, secretId };
  }
  throw new Refusal(cells.some(isMasked) ? "masked_value" : "portal_row");
}

function withoutLabel(text) {
  const first = text.charAt(0);
  const quoted = first !== "" && isQuote(first);
  const body = quoted ? text.slice(1) : text;
  const label = LABELS.find((l) => asciiLower(body.slice(0, l.length)) === l);
  if (label === undefined) {
    return null;
  }
  let rest = body.slice(label.length);
  if (quoted) {
    if (rest === "" || !isQuote(rest.charAt(0))) {
      return null;
    }
    rest = rest.slice(1);
  }
  rest = rest.replace(/^[ \t]+/, "");
  if (!(rest.startsWith(":") || rest.startsWith("="))) {
    return null;
  }
  rest = rest.slice(1).replace(LEADING, "");
  if (quoted && rest.endsWith(",")) {
    rest = rest.slice(0, -1);
  }
  return rest === "" ? null : rest;
}

// Typographic quotes are never part of a secret; straight ones may be part
// of an older free-form value, so they go only around what is plainly none.
function withoutQuotes(text) {
  for (const [open, close] of QUOTES) {
    if (text.length >= 2 && text.startsWith(open) && text.endsWith(close)) {
      const inner = text.slice(open.length, -close.length);
      const plain = trim(inner);
      const debris = isGenerated(plain) || isGuid(plain) || withoutLabel(plain) !== null;
      return inner !== "" && (open.charCodeAt(0) > 0x7f || debris) ? inner : null;
    }
  }
  return null;
}

function oneOfTwo(text) {
  const parts = text.split(TRIMMABLE_RUN).filter((p) => p !== "");
  if (parts.length === 2) {
    return parts[0] === parts[1] && chars(parts[0]) >= MIN_CHARS ? parts[0] : null;
  }
  if (text.length % 2 === 0) {
    const half = text.length / 2;
    const first = text.slice(0, half);
    if (first === text.slice(half) && isGenerated(first)) {
      return first;
    }
  }
  return null;
}

function unwrapped(text) {
  if (!LINE_BREAK.test(text)) {
    return null;
  }
  const joined = text.split(LINE_BREAK).map(trim).join("");
  return isGenerated(joined) ? joined : null;
}

function percentDecoded(text) {
  if (!/%7e/i.test(text)) {
    return null;
  }
  const decoded = text.replaceAll("%7E", "~").replaceAll("%7e", "~");
  return isGenerated(decoded) ? decoded : null;
}

function clean(raw, known) {
  const cleaned = [];
  const note = (code) => {
    if (!cleaned.includes(code)) {
      cleaned.push(code);
    }
  };
  let text = raw;
  let secretId = null;
  const trimmed = () => {
    const after = trim(text);
    if (after !== text) {
      note("trimmed");
      text = after;
    }
  };
  if (INVISIBLE_ANY.test(text)) {
    text = text.replace(INVISIBLE_ANY, "");
    note("invisible");
  }
  INVISIBLE_ANY.lastIndex = 0;
  trimmed();
  if (isGenerated(text)) {
    return { text, cleaned, secretId };
  }
  const password = cliOutput(text, known);
  if (password !== null) {
    text = password;
    note("cli_output");
    trimmed();
  }
  if (text.includes("\t")) {
    ({ value: text, secretId } = portalRow(text));
    note("portal_row");
  }
  for (let round = 0; round < 2; round += 1) {
    const rest = withoutLabel(text);
    if (rest !== null) {
      text = rest;
      note("label");
      trimmed();
    }
    const inner = withoutQuotes(text);
    if (inner !== null) {
      text = inner;
      note("quotes");
      trimmed();
    }
  }
  const one = oneOfTwo(text);
  const joined = one === null ? unwrapped(text) : null;
  if (one !== null) {
    text = one;
    note("pasted_twice");
  } else if (joined !== null) {
    text = joined;
    note("wrapped");
  }
  const decoded = percentDecoded(text);
  if (decoded !== null) {
    text = decoded;
    note("percent_encoded");
  }
  return { text, cleaned, secretId };
}

export function classify(raw, known = {}) {
  let result;
  try {
    result = clean(String(raw), known);
  } catch (error) {
    if (error instanceof Refusal) {
      return { value: "", cleaned: [], refused: error.code, secretId: null };
    }
    throw error;
  }
  const { text: value, cleaned, secretId } = result;
  const refuse = (code) => ({ value: "", cleaned: [], refused: code, secretId: null });
  if (value === "") {
    return refuse("empty");
  }
  if (CONTROL.test(value)) {
    return refuse("control_characters");
  }
  // Before the GUID check: a client ID is a GUID too.
  if (sameIdentifier(value, known.clientId)) {
    return refuse("equals_client_id");
  }
  if (sameIdentifier(value, known.entraTenant)) {
    return refuse("equals_tenant_id");
  }
  if (isGuid(value)) {
    return refuse("secret_id_not_value");
  }
  if (isMasked(value)) {
    return refuse("masked_value");
  }
  return { value, cleaned, refused: "", secretId };
}
