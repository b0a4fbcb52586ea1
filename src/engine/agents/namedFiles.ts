/** How much of the task's named files a developer's first prompt carries, per file and in all. */
const MAX_NAMED_FILE_CHARS = 20_000;
const MAX_NAMED_FILES_CHARS = 80_000;

/**
 * The task's named files for the first prompt, bounded so a huge file cannot flood it: a file
 * past the bounds is cut and says so (the model reads the rest with read_file). Used by both
 * built-in developers.
 */
export function boundNamedFiles(files: readonly string[], texts: ReadonlyArray<string | undefined>): Array<{ path: string; content: string | undefined }> {
  let total = 0;
  return files.map((p, i) => {
    let content = texts[i];
    if (content !== undefined && (content.length > MAX_NAMED_FILE_CHARS || total + content.length > MAX_NAMED_FILES_CHARS)) {
      content = `${content.slice(0, Math.max(0, Math.min(MAX_NAMED_FILE_CHARS, MAX_NAMED_FILES_CHARS - total)))}\n… (cut; use read_file for the rest)`;
    }
    total += content?.length ?? 0;
    return { path: p, content };
  });
}
