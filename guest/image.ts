/**
 * The default guest image, built from Debian packages with nothing but apt:
 * the kernel package behind linux-image-amd64 and busybox-static are
 * `apt-get download`ed and `dpkg -x`ed (never installed, /boot untouched);
 * iperf3 and ethtool come from the host with the libraries ldd lists.
 * Cached under `<cache>/guest/<hash>`, the hash covering every input, so it
 * is built once and rebuilt when a package, a tool, the module list or a guest
 * script changes.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
    chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { VtopoError } from '../src/core/api.js';
import { projectRoot } from '../src/host/self-exec.js';
import { acquireDirLock } from './lock.js';
import { resolveModules, ROOT_MODULES } from './modules.js';

const run = promisify(execFile);

/** Bump when the layout of the image changes in a way the inputs do not show. */
const BUILDER_VERSION = 3;
const KERNEL_META = 'linux-image-amd64';
const BUSYBOX = 'busybox-static';
/** Host tools copied in when present: the agent reports their absence. */
const HOST_TOOLS = ['/usr/bin/iperf3', '/usr/sbin/ethtool'];

export interface GuestImage {
    kernel: string;
    initrd: string;
    hash: string;
}

export interface GuestImageOptions {
    cacheDir?: string;
    onProgress?: (msg: string) => void;
    /** Where downloaded .debs are kept (default `<cache>/guest/debs`); shared so several caches download once. */
    debCacheDir?: string;
    /** The guest's /init and agent (default guest/rootfs of this checkout); part of the hash. */
    scriptsDir?: string;
}

interface AptPackage {
    name: string;
    version: string;
    sha256: string;
    filename: string;
}

export function guestCacheRoot(cacheDir?: string): string {
    // Absolute: the image is packed by a shell that changes directory first.
    return path.resolve(cacheDir ?? process.env.VTOPO_CACHE_DIR ?? path.join(projectRoot(), '.cache'), 'guest');
}

export function guestScriptsDir(): string {
    return path.join(projectRoot(), 'guest', 'rootfs');
}

/** The content hash ensureGuestImage would use, without building anything. */
export async function guestImageHash(opts: Pick<GuestImageOptions, 'scriptsDir'> = {}): Promise<string> {
    return hashInputs(await collectInputs(opts.scriptsDir ?? guestScriptsDir()));
}

const hashInputs = (inputs: Inputs) => createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);

export async function ensureGuestImage(opts: GuestImageOptions = {}): Promise<GuestImage> {
    const progress = opts.onProgress ?? (() => {});
    const root = guestCacheRoot(opts.cacheDir);
    mkdirSync(root, { recursive: true });
    const sdir = opts.scriptsDir ?? guestScriptsDir();
    const debs = opts.debCacheDir ?? path.join(root, 'debs');
    const inputs = await collectInputs(sdir);
    const hash = hashInputs(inputs);
    const dir = path.join(root, hash);
    const result = { kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), hash };
    if (isComplete(dir)) return result;

    const release = await acquireDirLock(path.join(root, `${hash}.lock`), () => progress('waiting for another vtopo building the same guest image'));
    try {
        if (isComplete(dir)) return result;
        progress(`building guest image ${hash} (kernel ${inputs.kernel.name} ${inputs.kernel.version})`);
        const tmp = path.join(root, `${hash}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
        mkdirSync(tmp, { recursive: true });
        try {
            await build(tmp, root, debs, sdir, inputs, progress);
            writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({ hash, builder: BUILDER_VERSION, inputs }, null, 2) + '\n');
            rmSync(dir, { recursive: true, force: true });
            renameSync(tmp, dir);
        } finally {
            rmSync(tmp, { recursive: true, force: true });
        }
        progress(`guest image ready: ${dir}`);
        return result;
    } finally {
        release();
    }
}

function isComplete(dir: string): boolean {
    return ['vmlinuz', 'initrd.img', 'manifest.json'].every((f) => existsSync(path.join(dir, f)));
}

interface Inputs {
    builder: number;
    kernel: AptPackage;
    busybox: AptPackage;
    /** The initramfs holds exactly what these resolve to, so another list is another image. */
    modules: string[];
    tools: Record<string, string>;
    scripts: Record<string, string>;
}

async function collectInputs(sdir: string): Promise<Inputs> {
    const kernelPkg = await kernelPackageName();
    const [kernel, busybox] = await Promise.all([aptPackage(kernelPkg), aptPackage(BUSYBOX)]);
    const tools: Record<string, string> = {};
    for (const t of HOST_TOOLS) {
        if (!existsSync(t)) continue;
        tools[t] = sha256File(t);
        for (const lib of await lddLibs(t)) tools[lib] = sha256File(lib);
    }
    const scripts: Record<string, string> = {};
    for (const f of readdirSync(sdir).sort()) scripts[f] = sha256File(path.join(sdir, f));
    return { builder: BUILDER_VERSION, kernel, busybox, modules: [...ROOT_MODULES], tools, scripts };
}

async function apt(args: string[]): Promise<string> {
    try {
        return (await run('apt-cache', args, { encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
    } catch (e) {
        throw new VtopoError(
            `apt-cache ${args.join(' ')} failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
            'the default guest image is built from Debian packages: run `apt-get update` (as root), or use `image kernel "…"` / `image disk "…"` in the topology',
        );
    }
}

/** The real kernel package linux-image-amd64 points at (e.g. linux-image-6.1.0-56-amd64). */
async function kernelPackageName(): Promise<string> {
    let out: string;
    try {
        out = await apt(['show', '--no-all-versions', KERNEL_META]);
    } catch (e) {
        // Container images often ship without apt lists; as root, fetch them once and retry.
        if (process.getuid?.() !== 0) throw e;
        await run('apt-get', ['update', '-qq'], { encoding: 'utf8', maxBuffer: 16 << 20 }).catch(() => undefined);
        out = await apt(['show', '--no-all-versions', KERNEL_META]);
    }
    const dep = /^Depends:\s*(.*)$/m.exec(out)?.[1] ?? '';
    const name = dep.split(/[,|]/).map((s) => s.trim().split(/\s/)[0]).find((n) => /^linux-image-\d/.test(n));
    if (!name) {
        throw new VtopoError(`${KERNEL_META} does not name a kernel package (Depends: ${dep || 'none'})`, 'run `apt-get update` and try again');
    }
    return name;
}

async function aptPackage(name: string): Promise<AptPackage> {
    const out = await apt(['show', '--no-all-versions', name]);
    const field = (f: string) => new RegExp(`^${f}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim();
    const version = field('Version');
    const sha256 = field('SHA256');
    const filename = field('Filename');
    if (!version || !sha256 || !filename) {
        throw new VtopoError(`apt knows no downloadable ${name}`, 'run `apt-get update` (as root) so apt has the Debian package lists');
    }
    return { name, version, sha256, filename: path.basename(filename) };
}

async function lddLibs(bin: string): Promise<string[]> {
    const { stdout } = await run('ldd', [bin], { encoding: 'utf8' });
    const libs: string[] = [];
    for (const line of stdout.split('\n')) {
        const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
        if (m) libs.push(m[1]);
    }
    return libs;
}

function sha256File(f: string): string {
    return createHash('sha256').update(readFileSync(f)).digest('hex');
}

/** A .deb from the shared download cache, checked against apt's SHA256; downloaded when absent or wrong. */
async function fetchDeb(pkg: AptPackage, debs: string, progress: (m: string) => void): Promise<string> {
    mkdirSync(debs, { recursive: true });
    const final = path.join(debs, pkg.filename);
    if (existsSync(final) && sha256File(final) === pkg.sha256) return final;
    progress(`apt-get download ${pkg.name} ${pkg.version}`);
    const tmp = path.join(debs, `.dl-${process.pid}-${randomBytes(3).toString('hex')}`);
    mkdirSync(tmp);
    // _apt cannot write into root-owned private dirs; apt then downloads as root and only warns.
    chmodSync(tmp, 0o777);
    try {
        await run('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: tmp, encoding: 'utf8', maxBuffer: 16 << 20 }).catch((e) => {
            throw new VtopoError(
                `apt-get download ${pkg.name}=${pkg.version} failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
                'check that the Debian mirror is reachable (apt-get update), or use `image kernel "…"` / `image disk "…"` in the topology',
            );
        });
        const got = readdirSync(tmp).find((f) => f.endsWith('.deb'));
        if (!got) throw new VtopoError(`apt-get download ${pkg.name} produced no .deb`, 'run `apt-get update` and try again');
        const file = path.join(tmp, got);
        if (sha256File(file) !== pkg.sha256) {
            throw new VtopoError(`downloaded ${got} does not match apt's SHA256`, 'run `apt-get update` and try again');
        }
        renameSync(file, final);
        return final;
    } finally {
        rmSync(tmp, { recursive: true, force: true });
    }
}

/**
 * vmlinuz + the resolved modules, cached per kernel package: unpacking the
 * kernel .deb is the slow part (hundreds of MB of modules), and a changed
 * guest script should not redo it.
 */
async function ensureKernelParts(kernel: AptPackage, debs: string, root: string, progress: (m: string) => void): Promise<string> {
    const key = createHash('sha256').update(JSON.stringify([BUILDER_VERSION, kernel.sha256, ROOT_MODULES])).digest('hex').slice(0, 16);
    const dir = path.join(root, `kernel-${key}`);
    const done = () => existsSync(path.join(dir, 'modules.order'));
    if (done()) return dir;
    const release = await acquireDirLock(path.join(root, `kernel-${key}.lock`), () => progress('waiting for another vtopo unpacking the kernel'));
    try {
        if (done()) return dir;
        const kdeb = await fetchDeb(kernel, debs, progress);
        const tmp = path.join(root, `kernel-${key}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
        try {
            const x = path.join(tmp, 'x');
            mkdirSync(x, { recursive: true });
            progress(`unpacking ${kernel.name} (dpkg -x)`);
            await run('dpkg', ['-x', kdeb, x]);
            const kboot = path.join(x, 'boot');
            const vmlinuz = readdirSync(kboot).find((f) => f.startsWith('vmlinuz-'));
            if (!vmlinuz) throw new VtopoError(`${kernel.name} holds no /boot/vmlinuz-*`, 'report this: the Debian kernel package layout changed');
            const kver = vmlinuz.slice('vmlinuz-'.length);
            const modulesDir = [path.join(x, 'lib', 'modules', kver), path.join(x, 'usr', 'lib', 'modules', kver)].find(existsSync);
            if (!modulesDir) throw new VtopoError(`${kernel.name} holds no modules for ${kver}`, 'report this: the Debian kernel package layout changed');
            const { order, files } = resolveModules(modulesDir);
            mkdirSync(path.join(tmp, 'modules'));
            for (const m of order) copyFileSync(files.get(m)!, path.join(tmp, 'modules', `${m}.ko`));
            copyFileSync(path.join(kboot, vmlinuz), path.join(tmp, 'vmlinuz'));
            writeFileSync(path.join(tmp, 'kernel-version'), kver + '\n');
            writeFileSync(path.join(tmp, 'modules.order'), order.join('\n') + '\n');
            rmSync(x, { recursive: true, force: true });
            progress(`modules (dependency order): ${order.join(' ')}`);
            rmSync(dir, { recursive: true, force: true });
            renameSync(tmp, dir);
        } finally {
            rmSync(tmp, { recursive: true, force: true });
        }
        return dir;
    } finally {
        release();
    }
}

async function build(tmp: string, root: string, debs: string, sdir: string, inputs: Inputs, progress: (m: string) => void): Promise<void> {
    const [kparts, bdeb] = await Promise.all([ensureKernelParts(inputs.kernel, debs, root, progress), fetchDeb(inputs.busybox, debs, progress)]);
    const x = path.join(tmp, 'x');
    mkdirSync(x, { recursive: true });
    await run('dpkg', ['-x', bdeb, path.join(x, 'busybox')]);

    const rootfs = path.join(tmp, 'rootfs');
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/vtopo', 'lib/modules', 'proc', 'sys', 'dev', 'tmp', 'run', 'root']) {
        mkdirSync(path.join(rootfs, d), { recursive: true });
    }
    const busybox = [path.join(x, 'busybox', 'bin', 'busybox'), path.join(x, 'busybox', 'usr', 'bin', 'busybox')].find(existsSync);
    if (!busybox) throw new VtopoError(`${inputs.busybox.name} holds no busybox binary`, 'report this: the Debian busybox-static layout changed');
    copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
    chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);

    const order = readFileSync(path.join(kparts, 'modules.order'), 'utf8').trim().split('\n').filter(Boolean);
    for (const m of order) copyFileSync(path.join(kparts, 'modules', `${m}.ko`), path.join(rootfs, 'lib', 'modules', `${m}.ko`));
    copyFileSync(path.join(kparts, 'modules.order'), path.join(rootfs, 'etc', 'vtopo', 'modules.order'));

    for (const t of Object.keys(inputs.tools)) {
        const dest = path.join(rootfs, t);
        mkdirSync(path.dirname(dest), { recursive: true });
        copyFileSync(t, dest);
        chmodSync(dest, statSync(t).mode & 0o777);
    }

    copyFileSync(path.join(sdir, 'init'), path.join(rootfs, 'init'));
    copyFileSync(path.join(sdir, 'vtopo-agent'), path.join(rootfs, 'bin', 'vtopo-agent'));
    chmodSync(path.join(rootfs, 'init'), 0o755);
    chmodSync(path.join(rootfs, 'bin', 'vtopo-agent'), 0o755);
    writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root::0:0:root:/root:/bin/sh\n');

    progress('packing initramfs (cpio newc, gzip)');
    // A fixed pipeline over fixed arguments ($1, $2): no user input reaches the shell.
    await run('sh', ['-c', 'cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0 | gzip -6 > "$2"', 'sh', rootfs, path.join(tmp, 'initrd.img')]);
    copyFileSync(path.join(kparts, 'vmlinuz'), path.join(tmp, 'vmlinuz'));
    copyFileSync(path.join(kparts, 'kernel-version'), path.join(tmp, 'kernel-version'));
    rmSync(x, { recursive: true, force: true });
    rmSync(rootfs, { recursive: true, force: true });
}
