/** Edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
    const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let diag = prev[0];
        prev[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = prev[j];
            prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
            diag = tmp;
        }
    }
    return prev[b.length];
}

/** The closest candidate within a distance that still looks like a typo; case differences count as near. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
    let best: string | undefined;
    let bestDist = Infinity;
    const limit = Math.max(2, Math.floor(word.length / 2));
    for (const c of candidates) {
        const d = c.toLowerCase() === word.toLowerCase() ? 0.5 : editDistance(word, c);
        if (d < bestDist || (d === bestDist && best !== undefined && c < best)) {
            best = c;
            bestDist = d;
        }
    }
    return bestDist <= limit ? best : undefined;
}
