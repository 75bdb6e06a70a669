// What every page script shares: the key in the link, calls to the JSON API,
// times in words, and the error box. One copy, so that the pages cannot drift
// apart; each page keeps its own logic in its own file.

export const $ = (id) => document.getElementById(id);

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

export const NETWORK_MESSAGE = "Could not reach the server. Check your connection and try again.";
const GENERIC_MESSAGE = "Something went wrong; try again.";

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

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n) => String(n).padStart(2, "0");

// An API time (RFC 3339) as a Date; null for a missing or unreadable one.
export function parseTime(iso) {
  if (typeof iso !== "string" || iso === "") {
    return null;
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

// "22 Nov 2026, 10:32 UTC"; "Unknown" for a missing or unreadable time.
export function formatUtc(iso) {
  const date = parseTime(iso);
  if (!date) {
    return "Unknown";
  }
  return `${utcDay(date)}, ${utcTime(date)}`;
}

// "10:32 UTC on 22 Nov 2026"
export function utcTimeOnDate(date) {
  return `${utcTime(date)} on ${utcDay(date)}`;
}

const utcTime = (date) => `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
const utcDay = (date) => `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;

// "2026-11-22" as "22 Nov 2026"; anything else as it came.
export function formatDay(text) {
  const match = typeof text === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) : null;
  if (!match) {
    return String(text);
  }
  const month = MONTHS[Number(match[2]) - 1];
  return month ? `${Number(match[3])} ${month} ${match[1]}` : text;
}

// The reader's own time zone, e.g. "23 Nov 2026, 11:32 CET".
const localFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "short",
});

export const formatLocal = (date) => localFormat.format(date);

const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

// "in 5 hours", "in 3 days"; rounded down so it never overstates the time left.
function relative(date) {
  const seconds = (date.getTime() - Date.now()) / 1000;
  if (seconds <= 0) {
    return "now";
  }
  if (seconds < 60) {
    return "in less than a minute";
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return relativeFormat.format(minutes, "minute");
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    return relativeFormat.format(hours, "hour");
  }
  return relativeFormat.format(Math.floor(hours / 24), "day");
}

// When a link expires: "23 Nov 2026, 11:32 CET (in 5 hours)"; "Unknown" for a
// missing or unreadable time.
export function formatExpiry(iso) {
  const date = parseTime(iso);
  return date ? `${formatLocal(date)} (${relative(date)})` : "Unknown";
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
