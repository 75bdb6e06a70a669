// What every page script shares: the key in the link, calls to the JSON API,
// times in words, and the error box. One copy, so that the pages cannot drift
// apart; each page keeps its own logic in its own file.

export const $ = (id) => document.getElementById(id);

// ---- Words in the page's language -----------------------------------------

// The page's language (<html lang>) and its browser-side messages, which the
// server puts in <script type="application/json" id="messages">.
export const LANG = document.documentElement.lang || "en";

const MESSAGES = (() => {
  const block = document.getElementById("messages");
  try {
    return block ? JSON.parse(block.textContent) : {};
  } catch {
    return {};
  }
})();

// The message `js-<id>`, with each {name} replaced by vars[name].
export function t(id, vars = {}) {
  let text = MESSAGES[`js-${id}`];
  if (typeof text !== "string") {
    text = id;
  }
  for (const [name, value] of Object.entries(vars)) {
    text = text.replaceAll(`{${name}}`, String(value));
  }
  return text;
}

const pluralRules = new Intl.PluralRules(LANG);

// The plural form of `js-<id>-one` / `js-<id>-other` that fits n.
export function tp(id, n, vars = {}) {
  const form = pluralRules.select(n) === "one" ? "one" : "other";
  return t(`${id}-${form}`, { count: n, ...vars });
}

// The language switch: the choice is kept in a cookie for a year, and the
// page reloads in place, which keeps the #key fragment in the address.
function chooseLanguage(tag) {
  document.cookie = `lang=${encodeURIComponent(tag)}; Path=/; Max-Age=31536000; SameSite=Lax`;
  location.reload();
}

for (const button of document.querySelectorAll(".language-switch button[data-lang]")) {
  button.addEventListener("click", () => chooseLanguage(button.dataset.lang));
}

export const plural = (n, one, many) => (n === 1 ? one : many);

// ---- The key in the link ------------------------------------------------

// The key is in the fragment (after #), which browsers never send to the
// server on their own. Returns it percent-decoded and trimmed, or null when
// the link has none. A fragment that is not valid percent-encoding is taken as
// it stands: it is then a wrong key, which the server answers as one.
export function readKey() {
  const raw = location.hash.slice(1);
  let key;
  try {
    key = decodeURIComponent(raw).trim();
  } catch {
    key = raw.trim();
  }
  return key === "" ? null : key;
}

// Header values must be printable ASCII; a key with anything else is from a
// damaged link, and fetch would refuse to send it.
export const fitsHeader = (key) => typeof key === "string" && /^[\x21-\x7e]+$/.test(key);

// Drops the key from the address bar and from history once it is of no more use.
export function forgetKeyInAddressBar() {
  history.replaceState(null, "", location.pathname);
}

// A different link pasted into the address bar changes only the fragment,
// which does not reload the page by itself.
export function reloadWhenLinkChanges() {
  window.addEventListener("hashchange", () => location.reload());
}

// ---- The JSON API -------------------------------------------------------

// Resolves to { status, body }, body null when the answer has none or is not
// JSON (for example a proxy's error page); rejects only when the server could
// not be reached, which pages report with NETWORK_MESSAGE.
export async function request(url, options = {}) {
  const response = await fetch(url, {
    ...options,
    headers: { Accept: "application/json", ...options.headers },
    cache: "no-store",
    credentials: "same-origin",
  });
  let body = null;
  if (response.status !== 204) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  return { status: response.status, body };
}

// ---- Retrying safely ---------------------------------------------------

// One Idempotency-Key per click. It is kept while that click's outcome is
// unclear (no answer reached us, or a 5xx such as the server's 503
// outcome_unknown) so that clicking again repeats the same attempt, and the
// server returns what the first one may already have taken instead of
// "already revealed". Any other answer settles it: the next click is new.
export function idempotentAttempt() {
  let key = null;
  return {
    key() {
      if (key === null) {
        key = newIdempotencyKey();
      }
      return key;
    },
    // The answer's status, or null when none arrived.
    settle(status) {
      if (status !== null && status < 500) {
        key = null;
      }
    },
  };
}

// crypto.randomUUID exists only in secure contexts (https, localhost).
function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The API's error code ("already_revealed", "invalid_field", …), or "".
export const errorCode = (body) => (body && typeof body.error === "string" ? body.error : "");

// ---- Errors -------------------------------------------------------------

export const NETWORK_MESSAGE = t("network");
const GENERIC_MESSAGE = t("generic");

// The API's own sentence for an error, which says what to do, or a fallback.
export function messageOf(body, fallback = GENERIC_MESSAGE) {
  return body && typeof body.message === "string" && body.message !== "" ? body.message : fallback;
}

// Every page has one error box, <p id="error" role="alert" hidden>.
export function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

export function clearError() {
  const box = $("error");
  box.textContent = "";
  box.hidden = true;
}

// ---- Times --------------------------------------------------------------

// An API time (RFC 3339) as a Date; null for a missing or unreadable one.
export function parseTime(iso) {
  if (typeof iso !== "string" || iso === "") {
    return null;
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

const pad = (n) => String(n).padStart(2, "0");

// One format everywhere: the reader's language and time zone, with seconds
// where the order of events matters. "23 Nov 2026, 11:32 CET".
const dateTimeFormat = new Intl.DateTimeFormat(LANG, {
  dateStyle: "medium",
  timeStyle: "short",
});
const preciseFormat = new Intl.DateTimeFormat(LANG, {
  dateStyle: "medium",
  timeStyle: "medium",
});
const timeFormat = new Intl.DateTimeFormat(LANG, { timeStyle: "short" });

export const formatLocal = (date) => dateTimeFormat.format(date);

// "18:16" (in the reader's words and zone).
export const formatClock = (date) => timeFormat.format(date);

const relativeFormat = new Intl.RelativeTimeFormat(LANG, { numeric: "auto" });

// "in 5 hours", "3 days ago"; rounded towards now so it never overstates.
export function relative(date) {
  const seconds = (date.getTime() - Date.now()) / 1000;
  const sign = seconds < 0 ? -1 : 1;
  const abs = Math.abs(seconds);
  if (abs < 60) {
    return seconds > 0 ? t("in-less-than-a-minute") : t("now");
  }
  const minutes = Math.floor(abs / 60);
  if (minutes < 60) {
    return relativeFormat.format(sign * minutes, "minute");
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    return relativeFormat.format(sign * hours, "hour");
  }
  return relativeFormat.format(sign * Math.floor(hours / 24), "day");
}

// A time with how far it is from now: "23 Nov 2026, 11:32 (in 5 hours)";
// "Unknown" for a missing or unreadable time.
export function formatExpiry(iso) {
  const date = parseTime(iso);
  return date ? `${formatLocal(date)} (${relative(date)})` : t("unknown-time");
}

// A past event, to the second, with how long ago: for activity lists.
export function formatEvent(iso) {
  const date = parseTime(iso);
  return date ? `${preciseFormat.format(date)} (${relative(date)})` : t("unknown-time");
}

// The same as formatExpiry; kept for the pages that show when something ends.
export const formatUtc = formatExpiry;

// Staff pages: "10:32 UTC on 22 Nov 2026".
export function utcTimeOnDate(date) {
  return `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC on ${new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeZone: "UTC" }).format(date)}`;
}

// "2026-11-22" as "22 Nov 2026"; anything else as it came.
export function formatDay(text) {
  const match = typeof text === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) : null;
  if (!match) {
    return String(text);
  }
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return Number.isNaN(date.getTime())
    ? text
    : new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeZone: "UTC" }).format(date);
}

// <time data-format="expiry" datetime="…">: the server wrote it in UTC;
// here it becomes the reader's zone and words.
for (const element of document.querySelectorAll("time[data-format='expiry']")) {
  const text = formatExpiry(element.dateTime);
  if (text !== t("unknown-time")) {
    element.textContent = text;
  }
}

// ---- Browsers -------------------------------------------------------------

// A user-agent string as a person says it: "Chrome on Windows". Order
// matters: Edge and Opera also say Chrome, Chrome also says Safari, and
// Android also says Linux. "" when nothing is recognised.
export function describeBrowser(ua) {
  if (typeof ua !== "string" || ua === "") {
    return "";
  }
  const browsers = [
    [/Edg(e|A|iOS)?\//, "Edge"],
    [/OPR\/|Opera/, "Opera"],
    [/Firefox\/|FxiOS\//, "Firefox"],
    [/Chrome\/|CriOS\/|Chromium\//, "Chrome"],
    [/Safari\//, "Safari"],
    [/curl\//, "curl"],
  ];
  const systems = [
    [/Windows/, "Windows"],
    [/Android/, "Android"],
    [/iPhone|iPad|iPod/, "iOS"],
    [/Mac OS X|Macintosh/, "macOS"],
    [/CrOS/, "ChromeOS"],
    [/Linux/, "Linux"],
  ];
  const pick = (list) => (list.find(([pattern]) => pattern.test(ua)) || [null, ""])[1];
  const browser = pick(browsers);
  const os = pick(systems);
  if (browser && os) {
    return t("browser-on", { browser, os });
  }
  return browser || os || ua.split(" ")[0].slice(0, 40);
}

// ---- Sharing --------------------------------------------------------------

// <button data-share-target="ID" hidden>: shown where the browser has a
// share sheet (phones, mostly), which then sends the element's value.
for (const button of document.querySelectorAll("button[data-share-target]")) {
  if (typeof navigator.share !== "function") {
    continue;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    const target = document.getElementById(button.dataset.shareTarget);
    const url = target ? target.value || target.textContent : "";
    try {
      await navigator.share({ url });
    } catch {
      // Dismissed, or refused: the link is still there to copy.
    }
  });
}

// A local calendar day as YYYY-MM-DD, as <input type="date"> and the API want it.
export function daysFromToday(days) {
  const date = new Date();
  date.setDate(date.getDate() + days);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

// ---- Applying to a tenant -----------------------------------------------

// "Microsoft accepted the secret" → "Microsoft accepted the secret."
function sentence(text) {
  const trimmed = typeof text === "string" ? text.trim() : "";
  return trimmed === "" || /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

// What a successful apply did, in words, from the API's answer; the tenant's
// name as the page shows it.
export function appliedMessage(body, tenantName) {
  const verification = body.verification && typeof body.verification === "object" ? body.verification : {};
  const sink = typeof body.sink === "string" && body.sink !== "" ? ` (sink ${body.sink})` : "";
  const parts = [`Applied to ${tenantName}${sink}.`];
  const checked = sentence(verification.message);
  if (checked !== "") {
    parts.push(checked);
  }
  if (body.written === false) {
    parts.push("The sink already held this secret; nothing was written twice.");
  }
  parts.push("The secret is deleted here.");
  return parts.join(" ");
}
