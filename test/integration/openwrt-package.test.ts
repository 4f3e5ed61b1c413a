/**
 * The OpenWrt package (deploy/openwrt/Makefile), checked as far as this machine can: there is no
 * OpenWrt SDK here, so its cross build (Build/Compile) never runs. What runs:
 *
 * - the Makefile parsed by GNU make with stub `rules.mk` / `package.mk` that evaluate its
 *   Package/zhuge definition the way OpenWrt's do: the dependencies (kmods, iptables/ip6tables/
 *   ebtables, node, libpcap), the targets, the conffiles, the system user;
 * - the runtime tree: `npm pack` of the repository, extracted, `npm ci --omit=dev` (from npm's
 *   cache when it has the packages): what the package installs under /usr/share/zhuge; its size
 *   is printed (docs/operations.md quotes it) and must stay far below the 154 MB of a dev tree;
 * - Package/zhuge/install run for real into a scratch root, from that tree (with the host-built
 *   addons standing in for the cross-built ones): every file it names exists, the init script,
 *   hotplug hook and capabilities file land where procd reads them, and the installed
 *   `zhuge check-config` accepts the installed configuration.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from './_helpers.js';

const hasMake = (() => {
  try {
    execFileSync('make', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const RULES_MK = `INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
CP:=cp -fpR
LN:=ln -sf
ARCH?=aarch64
`;

// package.mk's part that matters here: BuildPackage evaluates Package/<name> and exposes it
const PACKAGE_MK = `define BuildPackage
$(eval $(Package/$(1)))
info:
\t@echo 'DEPENDS=$(strip $(DEPENDS))'
\t@echo 'USERID=$(USERID)'
\t@echo 'SECTION=$(SECTION)'
\t@echo 'CONFFILES=$(strip $(Package/$(1)/conffiles))'
\t@echo 'NODE_ARCH=$(ZHUGE_NODE_ARCH)'
install:
\t$(call Package/$(1)/install,$(DEST))
endef
`;

function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

describe.skipIf(!hasMake)(`the OpenWrt package, as far as it can be checked without the SDK${hasMake ? '' : ' (skipped: no make)'}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'zhuge-owrt-'));
  const stub = join(work, 'stub');
  mkdirSync(join(stub, 'include'), { recursive: true });
  writeFileSync(join(stub, 'rules.mk'), RULES_MK);
  writeFileSync(join(stub, 'include/package.mk'), PACKAGE_MK);
  const make = (target: string, vars: Record<string, string> = {}): string =>
    execFileSync('make', ['-s', '-C', join(REPO, 'deploy/openwrt'), `TOPDIR=${stub}`, `INCLUDE_DIR=${join(stub, 'include')}`, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), target], {
      encoding: 'utf8',
    });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each([
    ['aarch64', 'arm64'],
    ['arm', 'arm'],
    ['x86_64', 'x64'],
  ])('the Makefile: dependencies, user, conffiles (ARCH %s -> node-gyp %s)', (arch, nodeArch) => {
    const info = Object.fromEntries(
      make('info', { ARCH: arch })
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const deps = (info['DEPENDS'] ?? '').split(/\s+/);
    for (const d of ['+node', '+libpcap', '+iptables-nft', '+ip6tables-nft', '+ebtables-nft', '+kmod-nft-compat', '+kmod-ipt-nfqueue', '+kmod-nfnetlink-queue']) {
      expect(deps, d).toContain(d);
    }
    // node exists on OpenWrt for these only
    expect(deps).toContain('@(aarch64||arm||x86_64)');
    expect(info['USERID']).toBe('zhuge=470:zhuge=470');
    expect(info['CONFFILES']).toBe('/etc/zhuge/zhuge.yaml');
    expect(info['NODE_ARCH']).toBe(nodeArch);
  });

  it('the runtime tree (npm pack + npm ci --omit=dev) and Package/zhuge/install into a scratch root', () => {
    // the tree Build/Compile leaves: the packed repository, runtime dependencies only
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop() ?? '';
    const build = join(work, 'build');
    mkdirSync(build);
    execFileSync('tar', ['-xzf', join(work, tgz), '-C', build, '--strip-components=1']);
    cpSync(join(REPO, 'package-lock.json'), join(build, 'package-lock.json'));
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: build, stdio: 'ignore', timeout: 300_000 });
    // no dev dependency made it in
    for (const dev of ['typescript', 'vitest', 'eslint', 'playwright-core', 'vega']) expect(existsSync(join(build, 'node_modules', dev)), dev).toBe(false);
    const runtimeBytes = duBytes(join(build, 'node_modules'));
    const appBytes = duBytes(join(build, 'dist')) + duBytes(join(build, 'config'));
    // the addons the SDK would cross-build: the host's stand in
    for (const a of ['nfqueue', 'rawsock']) {
      const rel = `native/${a}/build/Release/zhuge_${a}.node`;
      mkdirSync(join(build, `native/${a}/build/Release`), { recursive: true });
      cpSync(join(REPO, rel), join(build, rel));
    }
    mkdirSync(join(build, 'native/watchdog/build'), { recursive: true });
    cpSync(join(REPO, 'native/watchdog/build/zhuge-watchdog'), join(build, 'native/watchdog/build/zhuge-watchdog'));
    const root = join(work, 'root');
    make('install', { PKG_BUILD_DIR: build, DEST: root });
    for (const f of [
      'usr/share/zhuge/dist/src/cli.js',
      'usr/share/zhuge/config/zhuge.schema.json',
      'usr/share/zhuge/node_modules/pino/package.json',
      'usr/share/zhuge/native/nfqueue/build/Release/zhuge_nfqueue.node',
      'usr/share/zhuge/native/rawsock/build/Release/zhuge_rawsock.node',
      'usr/share/zhuge/native/watchdog/build/zhuge-watchdog',
      'etc/zhuge/zhuge.yaml',
      'etc/init.d/zhuge',
      'etc/capabilities/zhuge.json',
      'etc/hotplug.d/net/50-zhuge',
    ]) {
      expect(existsSync(join(root, f)), f).toBe(true);
    }
    expect(statSync(join(root, 'etc/init.d/zhuge')).mode & 0o111).not.toBe(0);
    // the installed CLI, from the installed tree, accepts the installed configuration
    const out = execFileSync(process.execPath, [join(root, 'usr/share/zhuge/dist/src/cli.js'), 'check-config', join(root, 'etc/zhuge/zhuge.yaml')], { encoding: 'utf8' });
    expect(out).toMatch(/^ok: /);
    const installedBytes = duBytes(join(root, 'usr/share/zhuge'));
    console.log(
      `OpenWrt runtime tree: node_modules ${(runtimeBytes / 1e6).toFixed(1)} MB (runtime dependencies only), dist + config ${(appBytes / 1e6).toFixed(1)} MB; ` +
        `installed /usr/share/zhuge ${(installedBytes / 1e6).toFixed(1)} MB (uncompressed)`,
    );
    expect(installedBytes).toBeLessThan(60e6);
  }, 360_000);
});
