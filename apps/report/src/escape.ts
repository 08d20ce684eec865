/**
 * HTML escaping for every string a plugin or a results file supplies. Escapes the five characters
 * that matter in both text and quoted attribute values, so one function serves both.
 */
const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
