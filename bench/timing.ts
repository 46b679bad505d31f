/** Small helpers the deploy benches share: medians and wall-clock timing. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const secs = (ms: number): string => (ms / 1000).toFixed(1);

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
    const t0 = performance.now();
    const v = await fn();
    return [performance.now() - t0, v];
}
