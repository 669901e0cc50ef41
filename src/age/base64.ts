/**
 * Strict base64 as the age format uses it: the standard alphabet, canonical
 * (unused bits zero), with padding only where asked for. Node's decoder skips
 * bad characters silently, so every decode is checked by re-encoding.
 */

const UNPADDED = /^[A-Za-z0-9+/]*$/
const PADDED = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Decodes `text` if it is canonical base64 (`padded`: with `=` padding to a
 * multiple of 4 characters, else without any); `undefined` otherwise.
 */
export function decodeBase64(text: string, padded: boolean): Uint8Array | undefined {
    if (!(padded ? PADDED : UNPADDED).test(text)) return undefined
    if (padded && text.length % 4 !== 0) return undefined

    const bytes = Buffer.from(text, "base64")
    if (encodeBase64(bytes, padded) !== text) return undefined
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
}

/** Encodes `bytes` as standard base64, with or without `=` padding. */
export function encodeBase64(bytes: Uint8Array, padded: boolean): string {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64")
    return padded ? text : text.replace(/=+$/, "")
}
