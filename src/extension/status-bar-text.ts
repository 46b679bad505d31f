/** The status bar's text, pure so it is unit-tested without VS Code. */
import type { TopologyView } from '../core/lsp-protocol.js';

export function statusText(views: TopologyView[], activeUri: string | undefined): { text: string; tooltip: string; error: boolean } | undefined {
    const mine = activeUri ? views.filter((v) => v.model.uri === activeUri) : [];
    const shown = mine.length ? mine : views.filter((v) => v.status?.deployed);
    if (!shown.length) return undefined;
    const parts = shown.map((v) => {
        const s = v.status;
        if (!s?.deployed) return { text: `${v.model.name}: not deployed`, error: false };
        const up = s.vms.filter((x) => x.state === 'running').length;
        const bad = s.vms.some((x) => x.state === 'crashed' || x.state === 'stopped') || s.datapaths.some((d) => !d.running || d.error);
        return { text: `${v.model.name}: ${up}/${s.vms.length} VMs up`, error: bad };
    });
    const error = parts.some((p) => p.error);
    return { text: `$(${error ? 'warning' : 'vm-running'}) ${parts.map((p) => p.text).join(' · ')}`, tooltip: 'vtopo: click for status', error };
}
