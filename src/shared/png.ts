import pngjs from 'pngjs';

const { PNG } = pngjs;

export interface GridOptions {
  /** Images per row and column. */
  columns: number;
  side: number;
  /** Pixels of border between and around images. */
  padding: number;
  /** Each pixel becomes scale×scale. */
  scale: number;
}

export function gridSize(count: number, o: GridOptions): { width: number; height: number } {
  const rows = Math.ceil(count / o.columns);
  return { width: (o.columns * (o.side + o.padding) + o.padding) * o.scale, height: (rows * (o.side + o.padding) + o.padding) * o.scale };
}

/** Encodes images with values in [-1, 1] (the generator's tanh range) as a grayscale grid PNG. */
export function imageGridPng(pixels: Float32Array, count: number, o: GridOptions): Buffer {
  const { width, height } = gridSize(count, o);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  const gray = Buffer.alloc(width * height, 32);
  const area = o.side * o.side;
  for (let n = 0; n < count; n++) {
    const x0 = (o.padding + (n % o.columns) * (o.side + o.padding)) * o.scale;
    const y0 = (o.padding + Math.floor(n / o.columns) * (o.side + o.padding)) * o.scale;
    for (let y = 0; y < o.side * o.scale; y++) {
      for (let x = 0; x < o.side * o.scale; x++) {
        const v = pixels[n * area + Math.floor(y / o.scale) * o.side + Math.floor(x / o.scale)]!;
        gray[(y0 + y) * width + x0 + x] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
      }
    }
  }
  png.data = gray;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

export function decodePng(bytes: Buffer): { width: number; height: number } {
  const img = PNG.sync.read(bytes);
  return { width: img.width, height: img.height };
}
