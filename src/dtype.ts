/**
 * Element types: one name, `dtype`, everywhere LSIO takes one — the view a
 * transform sees, a reduction's elements, a Zarr array's data type, the type
 * a Zarr read delivers — with numpy's names.
 *
 * @example
 * ```ts
 * import { DTYPES, TYPED_ARRAYS } from "./dtype.ts";
 * console.log(DTYPES.length, TYPED_ARRAYS.float32.BYTES_PER_ELEMENT); // 11 4
 * ```
 *
 * @module
 */

/** An element type: little-endian integers and IEEE floats; `bool` is one byte, 0 or 1. */
export type Dtype =
  | "bool"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float32"
  | "float64";

/** Every {@linkcode Dtype}. */
export const DTYPES: readonly Dtype[] = Object.freeze([
  "bool",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "float32",
  "float64",
]);

/** The typed array each {@linkcode Dtype} is held in. */
export interface DtypeArrays {
  /** 0 or 1 per byte. */
  bool: Uint8Array;
  /** Signed 8-bit integers. */
  int8: Int8Array;
  /** Signed 16-bit integers. */
  int16: Int16Array;
  /** Signed 32-bit integers. */
  int32: Int32Array;
  /** Signed 64-bit integers, as bigints. */
  int64: BigInt64Array;
  /** Unsigned 8-bit integers. */
  uint8: Uint8Array;
  /** Unsigned 16-bit integers. */
  uint16: Uint16Array;
  /** Unsigned 32-bit integers. */
  uint32: Uint32Array;
  /** Unsigned 64-bit integers, as bigints. */
  uint64: BigUint64Array;
  /** IEEE 754 single precision. */
  float32: Float32Array;
  /** IEEE 754 double precision. */
  float64: Float64Array;
}

/** The typed array of one {@linkcode Dtype}: `TypedArrayOf<"float32">` is `Float32Array`. */
export type TypedArrayOf<D extends Dtype> = DtypeArrays[D];

/** A typed array of one of the {@linkcode Dtype}s. */
export type NumericArray = DtypeArrays[Dtype];

/** A typed-array constructor of one of the {@linkcode Dtype}s. */
export interface NumericArrayConstructor {
  /** A zeroed array of `length` elements. */
  new (length: number): NumericArray;
  /** A view of `length` elements of `buffer` from `byteOffset`. */
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericArray;
  /** Bytes of one element. */
  readonly BYTES_PER_ELEMENT: number;
  /** The constructor's name ("Float32Array"). */
  readonly name: string;
}

/** The constructor of each {@linkcode Dtype}'s typed array. */
export const TYPED_ARRAYS: Readonly<Record<Dtype, NumericArrayConstructor>> = Object.freeze({
  bool: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
}) as unknown as Readonly<Record<Dtype, NumericArrayConstructor>>;
