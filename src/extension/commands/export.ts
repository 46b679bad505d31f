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
        await ctx.saved(t.uri);
        try {
            const r = await call(ctx.client, ExportRequest, { uri: t.uri, format: f });
            await ctx.showText(r.text, r.language);
        } catch (err) {
            await showError('export', err, ctx.output);
        }
    }),
];
