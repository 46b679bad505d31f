import { describe, expect, it } from 'vitest';
import { detectAccel } from '../../src/backends/qemu/index.js';

const cpu = (flags: string) => `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: ${flags}\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`;

describe('detectAccel', () => {
    it('KVM when /dev/kvm is accessible and the CPU shows vmx', () => {
        expect(detectAccel({ kvmDevAccessible: true, cpuinfo: cpu('fpu vme de pse vmx sse2') })).toEqual({ kvmUsable: true });
    });
    it('KVM when /dev/kvm is accessible and the CPU shows svm', () => {
        expect(detectAccel({ kvmDevAccessible: true, cpuinfo: cpu('fpu svm npt') }).kvmUsable).toBe(true);
    });
    it('TCG when /dev/kvm opens but the CPU has no vmx/svm (nested cloud host)', () => {
        const v = detectAccel({ kvmDevAccessible: true, cpuinfo: cpu('fpu vme de pse sse2 hypervisor') });
        expect(v.kvmUsable).toBe(false);
        expect(v.reason).toMatch(/vmx\/svm/);
    });
    it('TCG when /dev/kvm is not accessible', () => {
        const v = detectAccel({ kvmDevAccessible: false, cpuinfo: cpu('vmx') });
        expect(v.kvmUsable).toBe(false);
        expect(v.reason).toMatch(/\/dev\/kvm/);
    });
    it('does not mistake a flag that merely contains the letters for vmx', () => {
        expect(detectAccel({ kvmDevAccessible: true, cpuinfo: cpu('vmxx svmfoo') }).kvmUsable).toBe(false);
    });
    it('empty cpuinfo names both causes', () => {
        const v = detectAccel({ kvmDevAccessible: false, cpuinfo: '' });
        expect(v.kvmUsable).toBe(false);
        expect(v.reason).toMatch(/\/dev\/kvm.*vmx\/svm/);
    });
    it('reads the host when no inputs are given', () => {
        const v = detectAccel();
        expect(typeof v.kvmUsable).toBe('boolean');
        if (!v.kvmUsable) expect(v.reason).toBeTruthy();
    });
});
