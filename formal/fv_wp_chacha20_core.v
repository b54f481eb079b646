// Formal stand-in for wp_chacha20_core (the pipelined ChaCha20 block function, an entry
// register and 40 stages of 512-bit state passed twice): free values on every output (ready,
// valid, block, tag), every cycle, except that a block comes out only for a request taken
// before (the real core returns one block per request taken, a fixed latency later; here at
// any later cycle, or never: still more behaviours). Until session 24 valid was free too, so
// the stand-in could hand out blocks nobody asked for and overflow the keystream FIFO, whose
// block RAM then read the address being written: a behaviour the real core never has. Elaborating the real core took most of the job's time (8 of 9 minutes at depth 12)
// and the frames the job checks (non-IP, passed unchanged) never use the keystream; a free
// core has every behaviour of the real one (more, not fewer), so what is proven with it holds
// for the real core.

`default_nettype none

module wp_chacha20_core #(
    parameter TAG_WIDTH = 1
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire [255:0]         in_key,
    input  wire [31:0]          in_counter,
    input  wire [95:0]          in_nonce,
    input  wire [TAG_WIDTH-1:0] in_tag,
    output wire                 out_valid,
    output wire [511:0]         out_block,
    output wire [TAG_WIDTH-1:0] out_tag
);

(* anyseq *) wire                 any_ready;
(* anyseq *) wire                 any_valid;
(* anyseq *) wire [511:0]         any_block;
(* anyseq *) wire [TAG_WIDTH-1:0] any_tag;
// requests taken and not yet answered
reg [15:0] owed_reg = 16'd0;
assign in_ready = any_ready;
assign out_valid = any_valid && owed_reg != 16'd0;
always @(posedge clk) begin
    owed_reg <= owed_reg + {15'd0, in_valid && in_ready} - {15'd0, out_valid};
    if (rst) owed_reg <= 16'd0;
end
assign out_block = any_block;
assign out_tag = any_tag;

endmodule
