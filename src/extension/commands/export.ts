/** Export: the topology as ovs-vsctl, ovn-nbctl, QEMU or libvirt text, opened beside the editor. */
import * as vscode from 'vscode';
import { call, showError } from '../client.js';
import { ExportRequest, type ExportFormat } from '../../core/lsp-protocol.js';
import { command } from './command.js';

const formats: { label: ExportFormat; detail: string }[] = [
    { label: 'ovs-vsctl', detail: 'shell script creating the bridges and ports on Open vSwitch' },
    { label: 'ovn-nbctl', detail: 'shell script creating the logical switches and routers in OVN (a topology across hosts)' },
    { label: 'qemu', detail: 'QEMU command lines for each guest' },
    { label: 'libvirt', detail: 'libvirt domain XML for each guest' },
];

export const exportCommands = [
    command('vtopo.export', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg);
        if (!t) return;
        const f = (arg as { format?: ExportFormat } | undefined)?.format ?? (await vscode.window.showQuickPick(formats, { placeHolder: 'Export as' }))?.label;
        if (!f) return;
        // A topology across hosts: the OvS script is per host; guests' command lines are all hosts' unless a host
        // node was picked; ovn-nbctl is the whole logical part.
        const hosts = t.view?.model.hosts ?? [];
        let host = (arg as { host?: string } | undefined)?.host ?? t.node?.host;
        if (!host && f === 'ovs-vsctl' && hosts.length > 1) {
            host = (await vscode.window.showQuickPick(hosts.map((h) => ({ label: h.name, description: h.kind === 'local' ? 'this machine' : h.kind })), { placeHolder: `${f} of which host?` }))?.label;
            if (!host) return;
        }
        await ctx.saved(t.uri);
        try {
            const r = await call(ctx.client, ExportRequest, { uri: t.uri, format: f, ...(host && f !== 'ovn-nbctl' ? { host } : {}) });
            await ctx.showText(r.text, r.language);
        } catch (err) {
            await showError('export', err, ctx.output);
        }
    }),
];
