import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { ConfigError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';

// Injected failures: whether tensorflow or webgpu really loads depends on the host (a Vulkan driver, CUDA), and must not decide the test.
const fails = (message: string) => (): Promise<never> => Promise.reject(new Error(message));

test('a backend asked for by name that cannot load is a ConfigError naming the backend and why', async () => {
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    await assert.rejects(selectBackend(name, silentLogger, {}, { [name]: fails(`${name} is broken here`) }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.code, 'E_CONFIG');
      assert.equal(err.message, `backend ${name}: ${name} is broken here`);
      return true;
    });
  }
});

test('an injected loader that works is the one used', async () => {
  let loaded = 0;
  const choice = await selectBackend('webgpu', silentLogger, {}, { webgpu: async () => { loaded++; return { device: 'test adapter' }; } });
  assert.equal(loaded, 1);
  assert.deepEqual(choice, { name: 'webgpu', reasons: ['webgpu: requested'], device: 'test adapter' });
});
