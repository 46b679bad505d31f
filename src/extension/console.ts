/**
 * A terminal attached to a guest's serial console: a Pseudoterminal over a
 * net.Socket to the VM's console unix socket (QEMU's chardev). Keys go to
 * the guest, its output to the terminal.
 */
import * as net from 'node:net';
import * as vscode from 'vscode';

/** `onDetached` runs once, when the terminal closes or the guest's end does: the server then gives the console lock back. */
export function openConsole(vm: string, socketPath: string, onDetached: () => void = () => undefined): vscode.Terminal {
    let detached = false;
    const detach = () => { if (!detached) { detached = true; onDetached(); } };
    const write = new vscode.EventEmitter<string>();
    const close = new vscode.EventEmitter<number | void>();
    let sock: net.Socket | undefined;
    const pty: vscode.Pseudoterminal = {
        onDidWrite: write.event,
        onDidClose: close.event,
        open: () => {
            write.fire(`\x1b[2m[vtopo] console of ${vm} (${socketPath}); close the terminal to detach\x1b[0m\r\n`);
            sock = net.createConnection(socketPath);
            sock.on('connect', () => sock!.write('\r'));
            // Serial consoles send bare \n; a terminal needs \r\n to return to column 0.
            // Decoded across chunks, so a character the guest sent in two reads stays one character.
            sock.setEncoding('utf8');
            sock.on('data', (s: string) => write.fire(s.replace(/(?<!\r)\n/g, '\r\n')));
            sock.on('error', (e) => write.fire(`\r\n\x1b[31m[vtopo] console of ${vm}: ${e.message}\x1b[0m\r\n`));
            sock.on('close', () => {
                write.fire(`\r\n\x1b[2m[vtopo] console of ${vm} closed\x1b[0m\r\n`);
                detach();
            });
        },
        close: () => { sock?.destroy(); detach(); },
        handleInput: (data) => { sock?.write(data); },
    };
    const term = vscode.window.createTerminal({ name: `vtopo: ${vm}`, pty });
    term.show();
    return term;
}
