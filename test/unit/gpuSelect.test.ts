import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cudaDeviceEnv, parseDawnAdapterList, tensorflowDevice, webgpuAdapterName } from '../../src/shared/gan/gpuSelect.js';

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
