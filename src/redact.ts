/**
 * A URL as it may be shown in a message or log line: a password in the user info or in a
 * password-like query parameter becomes `***`. Text that is not a URL comes back unchanged.
 */
export function redactUrl(text: string): string {
  const scheme = text.indexOf('://');
  const at = text.lastIndexOf('@');
  let shown = text;
  // The last '@' ends the user info even when an unescaped '@' or '/' sits in the password.
  if (scheme >= 0 && at > scheme) {
    const colon = text.indexOf(':', scheme + 3);
    if (colon >= 0 && colon < at && !hostOnly(text))
      shown = `${text.slice(0, colon + 1)}***${text.slice(at)}`;
  }
  return shown.replace(/([?&](?:password|passwd|pass|pwd)=)[^&#]*/gi, '$1***');
}

/** True when the text parses as a URL without user info, so an '@' in it belongs to the path or query. */
function hostOnly(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
