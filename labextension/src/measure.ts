/** Widths of text as the page draws it, for labels shortened to fit a column. */

/** A stand-in width per character where nothing is laid out (tests in jsdom). */
const FALLBACK_CHAR_WIDTH = 7;
/** Widths remembered per font and text (names repeat on every poll). */
const CACHE_LIMIT = 5000;

let probe: HTMLSpanElement | null = null;
const cache = new Map<string, number>();

/**
 * The width in pixels of `text` in `font` (a CSS `font` value; blank: the
 * page's), measured by a hidden span so that the real font's glyphs count.
 */
export function textWidth(text: string, font: string): number {
  const key = `${font}\u0000${text}`;
  const known = cache.get(key);
  if (known !== undefined) {
    return known;
  }
  if (!probe) {
    probe = document.createElement('span');
    probe.setAttribute('aria-hidden', 'true');
    probe.className = 'jp-mlops-measure';
    Object.assign(probe.style, {
      position: 'absolute',
      visibility: 'hidden',
      whiteSpace: 'pre',
      left: '-10000px',
      top: '0'
    });
    document.body.appendChild(probe);
  }
  probe.style.font = font;
  probe.textContent = text;
  const measured = probe.getBoundingClientRect().width;
  const width = measured > 0 || !text ? measured : [...text].length * FALLBACK_CHAR_WIDTH;
  if (cache.size >= CACHE_LIMIT) {
    cache.clear();
  }
  cache.set(key, width);
  return width;
}
