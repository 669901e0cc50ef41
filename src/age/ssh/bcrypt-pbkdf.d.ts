/**
 * Types for the npm package `bcrypt-pbkdf` (OpenBSD's bcrypt_pbkdf ported to
 * JavaScript), which ships none. Only the function homeage calls is declared.
 */
declare module "bcrypt-pbkdf" {
    interface BcryptPbkdf {
        /**
         * Derives `keylen` bytes into `key` from a passphrase and salt with
         * `rounds` bcrypt rounds, as OpenSSH protects private keys. Returns 0 on
         * success and -1 for invalid arguments (empty passphrase or salt, no rounds).
         */
        pbkdf(
            pass: Uint8Array, passlen: number,
            salt: Uint8Array, saltlen: number,
            key: Uint8Array, keylen: number,
            rounds: number,
        ): number
    }
    const bcryptPbkdf: BcryptPbkdf
    export default bcryptPbkdf
}
