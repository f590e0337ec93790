#include "textflag.h"

// func plainPrefix16(s string) int
//
// The index of s's first byte that is below 0x20, '"', '\\' or 0x80 and
// above, or len(s); len(s) >= 16. A byte is below 0x20 or 0x80 and above
// exactly when it is below 0x20 as a signed byte (PCMPGTB), so three
// compares test 16 bytes. The last, partial block is the last 16 bytes of
// s: the bytes it shares with the block before are plain.
TEXT ·plainPrefix16(SB), NOSPLIT, $0-24
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	MOVQ $0x2020202020202020, DX
	MOVQ DX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x2222222222222222, DX
	MOVQ DX, X2
	PUNPCKLQDQ X2, X2
	MOVQ $0x5c5c5c5c5c5c5c5c, DX
	MOVQ DX, X3
	PUNPCKLQDQ X3, X3
	XORQ AX, AX
	LEAQ -16(BX), R8 // the last block's start

block:
	CMPQ AX, R8
	JA last
	MOVOU (SI)(AX*1), X0
	MOVO X1, X4
	PCMPGTB X0, X4 // 0x20 > byte, signed
	MOVO X0, X5
	PCMPEQB X2, X5
	POR X5, X4
	PCMPEQB X3, X0
	POR X0, X4
	PMOVMSKB X4, DX
	TESTL DX, DX
	JNZ found
	ADDQ $16, AX
	JMP block

last:
	CMPQ AX, BX
	JEQ done
	MOVQ R8, AX
	MOVOU (SI)(AX*1), X0
	MOVO X1, X4
	PCMPGTB X0, X4
	MOVO X0, X5
	PCMPEQB X2, X5
	POR X5, X4
	PCMPEQB X3, X0
	POR X0, X4
	PMOVMSKB X4, DX
	TESTL DX, DX
	JNZ found
	MOVQ BX, AX

done:
	MOVQ AX, ret+16(FP)
	RET

found:
	BSFL DX, DX
	ADDQ DX, AX
	MOVQ AX, ret+16(FP)
	RET
