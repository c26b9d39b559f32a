import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type WebgpuAdapterInfo, cudaDeviceEnv, parseDawnAdapterList, softwareAdapterKind, tensorflowDevice, webgpuAdapterName, webgpuAdapterVerdict,
} from '../../src/shared/gan/gpuSelect.js';

test('tensorflow: --gpu N makes only GPU N visible, in nvidia-smi order', () => {
  assert.deepEqual(cudaDeviceEnv(3), { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '3' });
});

test('tensorflow: the device reported is the one TensorFlow really uses, with a warning on a silent CPU fallback', () => {
  assert.deepEqual(tensorflowDevice({ isGPUPackage: true, isUsingGpuDevice: true }, 1, 'NVIDIA A100-SXM4-40GB'), { device: 'GPU 1 (NVIDIA A100-SXM4-40GB)' });
  assert.deepEqual(tensorflowDevice({ isGPUPackage: true, isUsingGpuDevice: true }, undefined, undefined), { device: 'GPU' });
  assert.deepEqual(tensorflowDevice({ isGPUPackage: false, isUsingGpuDevice: false }, undefined, undefined), { device: 'CPU' });
  // tfjs-node-gpu on a host whose CUDA does not match libtensorflow 2.9.1: CPU, and the user is told why.
  const fallback = tensorflowDevice({ isGPUPackage: true, isUsingGpuDevice: false }, 0, undefined);
  assert.equal(fallback.device, 'CPU');
  assert.match(fallback.warning ?? '', /runs on the CPU.*CUDA 11\.2 and cuDNN 8\.1.*GPU 0/);
});

test('webgpu: adapter names come from Dawn\'s refusal message', () => {
  const message = "Failed to find an adapter. Available adapters:\n * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'\n * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'\n * backend: 'null', name: 'Null backend'";
  assert.deepEqual(parseDawnAdapterList(message), ['NVIDIA H100 80GB HBM3', 'llvmpipe (LLVM 15.0.6, 256 bits)']);
  assert.deepEqual(parseDawnAdapterList('no adapters'), []);
});

test('webgpu: --gpu N picks a uniquely named GPU, and refuses what Dawn cannot enforce', () => {
  assert.equal(webgpuAdapterName(1, ['Dawn order A', 'Dawn order B'], ['NVIDIA A100', 'NVIDIA L4']), 'NVIDIA L4', 'nvidia-smi order wins');
  assert.equal(webgpuAdapterName(0, ['NVIDIA L4', 'llvmpipe'], []), 'NVIDIA L4', 'Dawn order without nvidia-smi');
  assert.throws(() => webgpuAdapterName(2, [], ['NVIDIA L4', 'NVIDIA A100']), /--gpu 2: this host has 2 GPUs \(NVIDIA L4, NVIDIA A100\)/);
  assert.throws(() => webgpuAdapterName(0, [], []), /this host has 0 GPUs/);
  assert.throws(() => webgpuAdapterName(1, [], ['NVIDIA H100', 'NVIDIA H100']), /2 GPUs are called 'NVIDIA H100'.*NVIDIA_VISIBLE_DEVICES/);
});

// WebGPU adapters as implementations describe them. Where one was read off a real Dawn, it says so.
const SOFTWARE: Record<string, WebgpuAdapterInfo> = {
  // Dawn (npm webgpu 0.6.2) on Mesa 25.0.7's lavapipe from bookworm-backports, read with requestAdapter().info.
  'lavapipe, as Dawn 0.6 reports it': {
    vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-',
    description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', isFallbackAdapter: true,
  },
  // The same driver as Vulkan names it, with no fallback flag and no architecture.
  'llvmpipe, by its Vulkan name': { vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 19.1.7, 256 bits)', description: 'Mesa 25.0.7 (LLVM 19.1.7)' },
  'SwiftShader': { vendor: 'google', architecture: '', device: 'SwiftShader Device (Subzero)', description: 'SwiftShader driver' },
  'SwiftShader on LLVM': { vendor: 'google', architecture: '', device: 'SwiftShader Device (LLVM 10.0.0)', description: '' },
  'Dawn\'s fallback adapter, flag only': { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: true },
  'WARP on Direct3D 12': { vendor: 'microsoft', architecture: '', device: 'Microsoft Basic Render Driver', description: '' },
};

const HARDWARE: Record<string, WebgpuAdapterInfo> = {
  // Dawn 0.6.2 on an H200, as recorded in docs/measurements/h200-*.json ("nvidia nvidia-h200 NVIDIA: 580.159.04 580.159.4.0").
  'NVIDIA H200': { vendor: 'nvidia', architecture: '', device: 'nvidia-h200', description: 'NVIDIA: 580.159.04 580.159.4.0', isFallbackAdapter: false },
  'NVIDIA A100, by its Vulkan name': { vendor: 'nvidia', architecture: 'ampere', device: 'NVIDIA A100-SXM4-80GB', description: 'NVIDIA: 550.54.15' },
  // Mesa drivers for real hardware mention Mesa too: that alone must not count.
  'AMD on RADV': { vendor: 'amd', architecture: 'rdna-3', device: 'AMD Radeon RX 7900 XTX (RADV NAVI31)', description: 'radv: Mesa 24.2.8-1~bpo12+1' },
  'Intel on ANV': { vendor: 'intel', architecture: 'gen-12lp', device: 'intel-r-uhd-graphics-770-adl-s-gt1-', description: 'Intel open-source Mesa driver: Mesa 25.0.7', isFallbackAdapter: false },
  'Apple on Metal': { vendor: 'apple', architecture: 'metal-3', device: 'Apple M2 Pro', description: '' },
};

test('webgpu: CPU implementations are recognised as such, whichever field gives them away', () => {
  for (const [name, info] of Object.entries(SOFTWARE)) assert.ok(softwareAdapterKind(info), `${name} is a CPU implementation`);
  assert.match(softwareAdapterKind(SOFTWARE['llvmpipe, by its Vulkan name']!)!, /llvmpipe/);
  assert.match(softwareAdapterKind(SOFTWARE.SwiftShader!)!, /SwiftShader/);
  assert.match(softwareAdapterKind(SOFTWARE['Dawn\'s fallback adapter, flag only']!)!, /fallback adapter/);
  assert.match(softwareAdapterKind({ vendor: 'mesa', architecture: 'software', device: 'some-future-cpu-driver' })!, /software/);
});

test('webgpu: real GPUs, Mesa-driven ones included, are not taken for CPU implementations', () => {
  for (const [name, info] of Object.entries(HARDWARE)) assert.equal(softwareAdapterKind(info), undefined, `${name} is a GPU`);
});

test('webgpu: auto passes over a CPU implementation and says why; asked for by name it is used, with a warning', () => {
  const lavapipe = SOFTWARE['lavapipe, as Dawn 0.6 reports it']!;
  const auto = webgpuAdapterVerdict(lavapipe, false);
  assert.equal(auto.use, false);
  assert.match(auto.use ? '' : auto.reason, /adapter 'llvmpipe-llvm-15-0-6-256-bits-' is Mesa's llvmpipe.*not a GPU.*--backend webgpu/);

  const named = webgpuAdapterVerdict(lavapipe, true);
  assert.equal(named.use, true);
  assert.match(named.use ? named.warning ?? '' : '', /'llvmpipe-llvm-15-0-6-256-bits-' is Mesa's llvmpipe.*runs on the CPU/);
  assert.equal(named.use && named.device, 'mesa software llvmpipe-llvm-15-0-6-256-bits- llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1');

  for (const requestedByName of [false, true]) {
    assert.deepEqual(webgpuAdapterVerdict(HARDWARE['NVIDIA H200']!, requestedByName),
      { use: true, device: 'nvidia nvidia-h200 NVIDIA: 580.159.04 580.159.4.0' }, 'a GPU is used without a warning');
  }
});
