// Package csta speaks CSTA XML (ECMA-323, the XML encoding of the ECMA-269
// call-control services) over the TCP framing used by OpenScape Voice and
// Business, Avaya AES/DMCC, Zultys and Vodia.
//
// It has three layers, usable on their own:
//
//   - framing (ReadFrame, WriteFrame): the 8-byte header, checked before a
//     single byte of body is allocated;
//   - the codec (Encode, Decode): one Go struct per message, whose fields
//     follow the schema's element order and spellings (TransferedEvent,
//     systemResourceAvailibility); parsing goes by local name under any
//     namespace, writing uses the namespace the peer uses;
//   - the connection (Dial, Conn): session start-up per vendor profile,
//     invoke-ID allocation, heartbeats, pacing, and event delivery that never
//     blocks the reader.
//
// The package imports nothing of this repository, so that a PBX vendor can
// read it against the standard, and the simulator and the gateway share one
// implementation of the wire format.
package csta
