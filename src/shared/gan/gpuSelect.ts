/**
 * Choosing and naming the GPU, apart from loading anything: what `--gpu N`
 * means for each backend, what a loaded backend really runs on, and whether a
 * WebGPU adapter is a GPU at all.
 */

/**
 * Environment for tfjs-node-gpu to see only GPU N: libtensorflow reads it when
 * it loads, and PCI order makes N the index nvidia-smi shows (CUDA's own order
 * is fastest first).
 */
export function cudaDeviceEnv(gpu: number): Record<string, string> {
  return { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: String(gpu) };
}

/** The parts of tfjs-node's NodeJSKernelBackend that tell where it runs. */
export interface TensorflowBackendInfo {
  /** Installed as @tensorflow/tfjs-node-gpu. */
  isGPUPackage?: boolean;
  /** TensorFlow found a GPU device when it started. */
  isUsingGpuDevice?: boolean;
}

/**
 * The device tfjs-node really uses. tfjs-node-gpu bundles libtensorflow 2.9.1
 * (CUDA 11.2, cuDNN 8.1); where those libraries do not load it runs on the CPU
 * without an error, so that case comes back with a warning.
 */
export function tensorflowDevice(info: TensorflowBackendInfo, gpu: number | undefined, gpuName: string | undefined): { device: string; warning?: string } {
  if (info.isUsingGpuDevice) {
    const which = gpu === undefined ? 'GPU' : `GPU ${gpu}`;
    return { device: gpuName ? `${which} (${gpuName})` : which };
  }
  if (!info.isGPUPackage) return { device: 'CPU' };
  return {
    device: 'CPU',
    warning: 'tfjs-node-gpu found no usable GPU and runs on the CPU: its libtensorflow 2.9.1 needs CUDA 11.2 and cuDNN 8.1 libraries on the library path'
      + (gpu === undefined ? '' : ` and GPU ${gpu} to exist`),
  };
}

/**
 * Adapter names from Dawn's refusal of an adapter name that matches nothing
 * ("Available adapters:\n * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'…").
 */
export function parseDawnAdapterList(message: string): string[] {
  return [...message.matchAll(/name: '([^']*)'/g)].map((m) => m[1]!).filter((n) => n !== 'Null backend');
}

/**
 * The Dawn `adapter=` name for GPU N. Dawn matches adapters by name only, so
 * GPU N must have a name no other GPU has; nvidia-smi's name for index N wins
 * (its order is the PCI order CUDA_VISIBLE_DEVICES uses), else the N-th adapter
 * Dawn lists. Throws, saying what to do, when the choice cannot be enforced.
 */
export function webgpuAdapterName(gpu: number, dawnAdapters: string[], nvidiaSmiNames: string[]): string {
  const names = nvidiaSmiNames.length > 0 ? nvidiaSmiNames : dawnAdapters;
  if (gpu >= names.length) throw new Error(`--gpu ${gpu}: this host has ${names.length} GPU${names.length === 1 ? '' : 's'}${names.length ? ` (${names.join(', ')})` : ''}`);
  const name = names[gpu]!;
  const same = names.filter((n) => n === name).length;
  if (same > 1) {
    throw new Error(`--gpu ${gpu}: ${same} GPUs are called '${name}' and Dawn selects adapters by name only; `
      + 'give each worker only its own GPU instead (NVIDIA_VISIBLE_DEVICES=N in a container, or one GPU per host)');
  }
  return name;
}

/** What a WebGPU adapter says about itself: GPUAdapterInfo, and the fallback flag (on GPUAdapter in older implementations). */
export interface WebgpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/**
 * CPU implementations of Vulkan and Direct3D that Dawn can offer as adapters,
 * by name: Dawn's info fields vary between versions (Dawn 0.6 reports Mesa 25's
 * lavapipe as vendor "mesa", architecture "software", device
 * "llvmpipe-llvm-15-0-6-256-bits-", flagged as a fallback adapter; its adapter
 * list says "llvmpipe (LLVM 15.0.6, 256 bits)"), so any one sign is enough.
 */
const SOFTWARE_ADAPTERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/llvmpipe|lavapipe/i, "Mesa's llvmpipe (lavapipe), a CPU rasterizer"],
  [/softpipe/i, "Mesa's softpipe, a CPU rasterizer"],
  [/swiftshader/i, 'SwiftShader, a CPU implementation of Vulkan'],
  [/microsoft basic render driver/i, 'WARP (Microsoft Basic Render Driver), a CPU implementation of Direct3D'],
];

/** The adapter as one line for logs, summary.json and metrics: its non-empty info fields. */
export function webgpuAdapterLabel(info: WebgpuAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((x) => x).join(' ');
}

/** What the adapter is when it is a CPU implementation rather than a GPU; undefined for a real GPU. */
export function softwareAdapterKind(info: WebgpuAdapterInfo): string | undefined {
  const label = webgpuAdapterLabel(info);
  const named = SOFTWARE_ADAPTERS.find(([pattern]) => pattern.test(label))?.[1];
  if (named) return named;
  if (info.isFallbackAdapter) return 'the WebGPU fallback adapter, a CPU implementation';
  // Dawn's architecture for devices of Vulkan's CPU type.
  if (info.architecture?.toLowerCase() === 'software') return 'a software adapter (architecture "software"), a CPU implementation';
  return undefined;
}

/**
 * Whether to train on this adapter. `auto` wants a GPU, so it passes over a
 * CPU implementation (the wasm backend beats one by far); asked for by name
 * (`--backend webgpu`) it is taken, with a warning.
 */
export function webgpuAdapterVerdict(info: WebgpuAdapterInfo, requestedByName: boolean):
  { use: true; device: string; warning?: string } | { use: false; reason: string } {
  const device = webgpuAdapterLabel(info);
  const software = softwareAdapterKind(info);
  if (!software) return { use: true, device };
  const name = `'${info.device || device || 'unnamed'}'`;
  if (!requestedByName) return { use: false, reason: `adapter ${name} is ${software}, not a GPU (--backend webgpu uses it anyway)` };
  return { use: true, device, warning: `WebGPU adapter ${name} is ${software}: training runs on the CPU (--backend wasm is usually faster)` };
}
