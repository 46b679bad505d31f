import { accessSync, constants, readFileSync } from 'node:fs';

export interface AccelInputs {
    kvmDevAccessible: boolean;
    cpuinfo: string;
}

export interface AccelVerdict {
    kvmUsable: boolean;
    reason?: string;
}

/**
 * KVM only when /dev/kvm opens AND the CPU advertises vmx/svm: on nested
 * cloud hosts /dev/kvm can exist (KVM_CREATE_VM even succeeds) while guests
 * spin forever, so the device alone is not evidence.
 */
export function detectAccel(inputs?: AccelInputs): AccelVerdict {
    const { kvmDevAccessible, cpuinfo } = inputs ?? readHostAccelInputs();
    const flags = cpuinfo
        .split('\n')
        .filter((l) => /^flags\s*:/.test(l))
        .flatMap((l) => l.slice(l.indexOf(':') + 1).trim().split(/\s+/));
    const hasVirt = flags.includes('vmx') || flags.includes('svm');
    if (!kvmDevAccessible && !hasVirt) {
        return { kvmUsable: false, reason: '/dev/kvm is not accessible and /proc/cpuinfo shows no vmx/svm' };
    }
    if (!kvmDevAccessible) return { kvmUsable: false, reason: '/dev/kvm is not accessible (missing, or no read/write permission)' };
    if (!hasVirt) return { kvmUsable: false, reason: 'no vmx/svm in /proc/cpuinfo (nested virtualization is off): KVM guests would hang' };
    return { kvmUsable: true };
}

export function readHostAccelInputs(): AccelInputs {
    let kvmDevAccessible = false;
    try {
        accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
        kvmDevAccessible = true;
    } catch {
        kvmDevAccessible = false;
    }
    let cpuinfo = '';
    try {
        cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
        cpuinfo = '';
    }
    return { kvmDevAccessible, cpuinfo };
}
