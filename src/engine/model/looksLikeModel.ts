/**
 * A cheap test, run on every SQL file the editor shows: a CASE (the segmentation), a region and a GROUP BY.
 * Files that fail it cost nothing more.
 */
export function looksLikeSegmentModel(text: string): boolean {
  return /\bgroup\s+by\b/i.test(text) && /\bregion\b/i.test(text) && /\bcase\b[\s\S]*?\bend\b/i.test(text);
}
