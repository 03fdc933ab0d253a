package gym

// PlainANSI is plainANSI, for the external tests.
var PlainANSI = plainANSI
