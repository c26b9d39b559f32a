/** The single import of TensorFlow.js, so every module shares one engine and one backend. */
import * as tf from '@tensorflow/tfjs';

// Production mode: skips per-op debug checks and silences tfjs's own console banners.
tf.enableProdMode();

export { tf };
export type Tf = typeof tf;
/** A tfjs tensor and variable, as the engine above makes them. */
export type Tensor = ReturnType<Tf['tensor']>;
export type Variable = ReturnType<Tf['variable']>;
