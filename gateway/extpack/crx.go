package extpack

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// The CRX3 format (Chromium components/crx_file/crx3.proto):
//
//	"Cr24" | uint32le 3 | uint32le N | CrxFileHeader (N bytes) | zip
//
//	message CrxFileHeader {
//	  repeated AsymmetricKeyProof sha256_with_rsa = 2;
//	  optional bytes signed_header_data = 10000;   // a SignedData
//	}
//	message AsymmetricKeyProof { bytes public_key = 1; bytes signature = 2; }
//	message SignedData { bytes crx_id = 1; }      // 16 bytes
//
// Every proof signs "CRX3 SignedData\x00" | uint32le len(signed_header_data)
// | signed_header_data | zip. Chromium's verifier accepts the file only when
// one proof's key hashes to crx_id, which is what makes the ID follow from
// the key. Four length-delimited fields do not justify a protobuf
// dependency, so they are encoded here by hand.
const (
	crxMagic          = "Cr24"
	crxVersion        = 3
	crxSignedPrefix   = "CRX3 SignedData\x00"
	fieldRSAProof     = 2
	fieldSignedHeader = 10000
	fieldPublicKey    = 1
	fieldSignature    = 2
	fieldCrxID        = 1
	// maxHeader bounds what ParseCRX reads before trusting anything.
	maxHeader = 1 << 20
)

// Key is the admin's signing key: it fixes the extension's ID, so it must
// be kept (outside the repository) for as long as the extension is deployed.
type Key struct {
	priv *rsa.PrivateKey
}

// GenerateKey makes a new 2048-bit RSA key, as Chrome's own packer does.
func GenerateKey() (*Key, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("extpack: generate key: %w", err)
	}
	return &Key{priv: k}, nil
}

// ParseKey reads a PEM private key: PKCS#8 (what Chrome's "Pack extension"
// writes) or PKCS#1.
func ParseKey(pemBytes []byte) (*Key, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("extpack: key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return &Key{priv: k}, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("extpack: key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("extpack: key: %T is not an RSA key", k)
	}
	return &Key{priv: rk}, nil
}

// LoadOrCreateKey reads the key at path, or creates it (mode 0600) when
// no file is there. created tells the caller to say so loudly.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("%w (file %s)", err, path)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("extpack: key: %w", err)
	}
	if k, err = GenerateKey(); err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, false, fmt.Errorf("extpack: key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("extpack: key: %w", err)
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Close()); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("extpack: key: %w", err)
	}
	return k, true, nil
}

// PublicKeyDER is the SubjectPublicKeyInfo that goes into the CRX header
// and, base64-encoded, into the manifest's "key".
func (k *Key) PublicKeyDER() []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		panic(err) // an RSA public key always marshals
	}
	return der
}

// ID is the extension ID this key gives.
func (k *Key) ID() string { return IDFromPublicKey(k.PublicKeyDER()) }

// crxID is the first 16 bytes of SHA-256 of the public key.
func crxID(spki []byte) []byte {
	sum := sha256.Sum256(spki)
	return sum[:16]
}

// IDFromPublicKey is Chrome's extension ID of a public key: the first 128
// bits of its SHA-256 in hex, written with the letters a-p for 0-f.
func IDFromPublicKey(spki []byte) string {
	return idFromCrxID(crxID(spki))
}

func idFromCrxID(id []byte) string {
	out := make([]byte, 0, 2*len(id))
	for _, b := range id {
		out = append(out, 'a'+b>>4, 'a'+b&0x0f)
	}
	return string(out)
}

// WriteCRX writes zipData signed with k as a CRX3 file.
func WriteCRX(w io.Writer, k *Key, zipData []byte) error {
	spki := k.PublicKeyDER()
	signed := protoBytes(fieldCrxID, crxID(spki))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, signedDigest(signed, zipData))
	if err != nil {
		return fmt.Errorf("extpack: sign crx: %w", err)
	}
	proof := append(protoBytes(fieldPublicKey, spki), protoBytes(fieldSignature, sig)...)
	header := append(protoBytes(fieldRSAProof, proof), protoBytes(fieldSignedHeader, signed)...)
	var pre bytes.Buffer
	pre.WriteString(crxMagic)
	binary.Write(&pre, binary.LittleEndian, uint32(crxVersion))
	binary.Write(&pre, binary.LittleEndian, uint32(len(header)))
	pre.Write(header)
	if _, err := w.Write(pre.Bytes()); err != nil {
		return fmt.Errorf("extpack: write crx: %w", err)
	}
	if _, err := w.Write(zipData); err != nil {
		return fmt.Errorf("extpack: write crx: %w", err)
	}
	return nil
}

// signedDigest is the SHA-256 of what every CRX3 proof signs.
func signedDigest(signedHeader, zipData []byte) []byte {
	h := sha256.New()
	h.Write([]byte(crxSignedPrefix))
	binary.Write(h, binary.LittleEndian, uint32(len(signedHeader)))
	h.Write(signedHeader)
	h.Write(zipData)
	return h.Sum(nil)
}

// CRX is a verified CRX3 file.
type CRX struct {
	ID  string // the extension ID, from the signed crx_id
	Zip []byte // the archive
}

// ParseCRX checks a CRX3 file the way Chromium's verifier does: the magic
// and version, a signed crx_id, at least one RSA proof whose key hashes to
// that crx_id, and every RSA proof's signature valid.
func ParseCRX(b []byte) (*CRX, error) {
	if len(b) < 12 || string(b[:4]) != crxMagic {
		return nil, errors.New("extpack: crx: not a CRX file")
	}
	if v := binary.LittleEndian.Uint32(b[4:8]); v != crxVersion {
		return nil, fmt.Errorf("extpack: crx: version %d, want 3", v)
	}
	n := binary.LittleEndian.Uint32(b[8:12])
	if n > maxHeader || uint64(n) > uint64(len(b)-12) {
		return nil, fmt.Errorf("extpack: crx: header length %d out of range", n)
	}
	header, zipData := b[12:12+n], b[12+n:]
	fields, err := protoFields(header)
	if err != nil {
		return nil, fmt.Errorf("extpack: crx header: %w", err)
	}
	signed := last(fields[fieldSignedHeader])
	sd, err := protoFields(signed)
	if err != nil {
		return nil, fmt.Errorf("extpack: crx signed data: %w", err)
	}
	id := last(sd[fieldCrxID])
	if len(id) != 16 {
		return nil, errors.New("extpack: crx: no 16-byte crx_id")
	}
	if err := verifyProofs(fields[fieldRSAProof], id, signedDigest(signed, zipData)); err != nil {
		return nil, err
	}
	return &CRX{ID: idFromCrxID(id), Zip: zipData}, nil
}

func verifyProofs(proofs [][]byte, id, digest []byte) error {
	developer := false
	for _, p := range proofs {
		f, err := protoFields(p)
		if err != nil {
			return fmt.Errorf("extpack: crx proof: %w", err)
		}
		spki, sig := last(f[fieldPublicKey]), last(f[fieldSignature])
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			return fmt.Errorf("extpack: crx proof key: %w", err)
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errors.New("extpack: crx proof key is not RSA")
		}
		if err := rsa.VerifyPKCS1v15(rk, crypto.SHA256, digest, sig); err != nil {
			return fmt.Errorf("extpack: crx signature: %w", err)
		}
		developer = developer || bytes.Equal(crxID(spki), id)
	}
	if !developer {
		return errors.New("extpack: crx: no proof by the key the crx_id names")
	}
	return nil
}

// protoBytes encodes one length-delimited protobuf field.
func protoBytes(field int, v []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(field)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// protoFields decodes a message of length-delimited fields (all CRX3 has),
// skipping varint fields; any other wire type is an error.
func protoFields(b []byte) (map[int][][]byte, error) {
	out := map[int][][]byte{}
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("bad tag")
		}
		b = b[n:]
		switch tag & 7 {
		case 0:
			if _, n = binary.Uvarint(b); n <= 0 {
				return nil, errors.New("bad varint")
			}
			b = b[n:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil, errors.New("bad length")
			}
			out[int(tag>>3)] = append(out[int(tag>>3)], b[n:n+int(l)])
			b = b[n+int(l):]
		default:
			return nil, fmt.Errorf("unsupported wire type %d", tag&7)
		}
	}
	return out, nil
}

func last(v [][]byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return v[len(v)-1]
}
