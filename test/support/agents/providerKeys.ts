/**
 * Takes the provider keys out of this process's environment for one test (a key there would be
 * the user's, passed to agents as is) and registers their return in `cleanups`.
 */
export function withoutProviderKeys(cleanups: Array<() => unknown>): void {
  for (const key of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY']) {
    const saved = process.env[key];
    delete process.env[key];
    cleanups.push(() => {
      if (saved !== undefined) process.env[key] = saved;
    });
  }
}
