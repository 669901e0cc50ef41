import assert from "node:assert/strict"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { Encrypter } from "age-encryption"

import {
    readHeaderStanzas, recipientKind, recipientMismatches, sshKeyTag,
} from "../../src/age/recipient-match.js"
import { OperationError } from "../../src/errors.js"
import {
    type Sandbox, ageEncrypt, ageEncryptToFiles, ageKey, makeSandbox, removeSandbox, sshKey,
} from "./helpers.js"

let box: Sandbox
let sshA: string
let sshB: string
let x: string[]

before(() => {
    box = makeSandbox("match")
    sshA = sshKey(join(box.root, "id_a"))
    sshB = sshKey(join(box.root, "id_b"))
    x = ["x1", "x2", "x3"].map((name) => ageKey(join(box.root, `${name}.txt`)))
})

after(() => {
    removeSandbox(box)
})

test("a file encrypted to SSH key A but declared for key B is reported both ways", () => {
    const file = ageEncryptToFiles("s\n", [join(box.root, "id_a.pub")])
    const messages = recipientMismatches(
        { name: "deploy", source: "secrets/deploy.age", ciphertext: file, recipients: [sshB] })

    assert.equal(messages.length, 2)
    assert.match(messages[0]!, new RegExp("^secrets/deploy\\.age is not encrypted to the "
        + "ssh-ed25519 key .* that deploy declares; run `homeage rekey deploy`$"))
    assert.equal(messages[1], "secrets/deploy.age is also encrypted to an ssh-ed25519 key (tag "
        + `${sshKeyTag(sshA)!}) that deploy does not declare; run \`homeage rekey deploy\``)
})

test("a file encrypted to the declared SSH key matches", () => {
    const file = ageEncryptToFiles("s\n", [join(box.root, "id_a.pub")])
    assert.deepEqual(recipientMismatches(
        { name: "deploy", source: "d.age", ciphertext: file, recipients: [sshA] }), [])
})

test("the SSH tag in Go age's stanza is the one computed from the public key", () => {
    const file = ageEncryptToFiles("s\n", [join(box.root, "id_a.pub")])
    const [stanza] = readHeaderStanzas(file)
    assert.equal(stanza?.type, "ssh-ed25519")
    assert.equal(stanza.args[0], sshKeyTag(sshA))
})

test("X25519 recipients are counted: 2 in the file, 3 declared", () => {
    const file = ageEncrypt("s\n", [x[0]!, x[1]!])
    assert.deepEqual(recipientMismatches(
        { name: "gh-token", source: "secrets/gh.age", ciphertext: file, recipients: x }),
    ["secrets/gh.age is encrypted to 2 X25519 recipients but gh-token declares 3; "
        + "run `homeage rekey gh-token`"])
})

test("equal X25519 counts cannot be told apart (a documented limit)", () => {
    const file = ageEncrypt("s\n", [x[0]!, x[1]!])
    assert.deepEqual(recipientMismatches(
        { name: "t", source: "t.age", ciphertext: file, recipients: [x[1]!, x[2]!] }), [])
})

test("mixed kinds in an armored file: the missing SSH key and the X25519 count", () => {
    const file = ageEncrypt("s\n", [x[0]!, sshA], true)
    const messages = recipientMismatches(
        { name: "t", source: "t.age", ciphertext: file, recipients: [sshA, sshB, x[0]!, x[1]!] })

    assert.equal(messages.length, 2)
    assert.match(messages[0]!, /not encrypted to the ssh-ed25519 key/)
    assert.match(messages[1]!, /encrypted to 1 X25519 recipient but t declares 2/)
})

test("a passphrase-encrypted file is reported once", async () => {
    const encrypter = new Encrypter()
    encrypter.setScryptWorkFactor(10)
    encrypter.setPassphrase("not used for anything")
    const file = await encrypter.encrypt("s\n")

    assert.deepEqual(recipientMismatches(
        { name: "t", source: "t.age", ciphertext: file, recipients: [x[0]!] }),
    ["t.age is encrypted with a passphrase but t declares recipients; run `homeage rekey t`"])
})

test("recipient kinds are told from their prefix", () => {
    assert.equal(recipientKind(x[0]!), "X25519")
    assert.equal(recipientKind(sshA), "ssh-ed25519")
    assert.equal(recipientKind("age1pq1qqqq"), "mlkem768x25519")
    assert.equal(recipientKind("age1yubikey1qqqq"), "other")
})

test("a file that is not age is an OperationError naming the secret and file", () => {
    assert.throws(() => recipientMismatches({
        name: "t", source: "t.age", ciphertext: Buffer.from("hello\n"), recipients: [],
    }), (err: unknown) => err instanceof OperationError
        && err.message.startsWith("secret t: t.age is not a readable age file"))
})

test("a header cut inside a stanza is rejected", () => {
    const file = ageEncrypt("s\n", [x[0]!])
    const cut = file.subarray(0, file.indexOf("\n---"))
    assert.throws(() => readHeaderStanzas(cut))
})
