import { vi } from 'vitest';

/**
 * The SDK's retry middleware warns on the console (its default logger) when a streamed upload
 * fails, since a stream cannot be retried. Tests that make uploads fail on purpose expect that one
 * warning: it is kept quiet, and any other console.warn is passed on, so it still shows.
 */
export const SDK_STREAMING_WARNING = 'An error was encountered in a non-retryable streaming request.';

export async function expectingStreamingWarning<T>(run: () => Promise<T>): Promise<T> {
  const original = console.warn.bind(console);
  const warn = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    if (args[0] !== SDK_STREAMING_WARNING) original(...args);
  });
  try {
    return await run();
  } finally {
    warn.mockRestore();
  }
}
