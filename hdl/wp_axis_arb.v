// wp_axis_arb: frame-based round-robin merge of S_COUNT AXI-Stream inputs into one output.
//
// A grant holds from a frame's first beat to its last. The grant is a one-hot register decided
// a cycle ahead, so every input's tready is the AND of two registers (its grant bit and the
// output slice's room): no input's ready and no skid-register enable waits on a round-robin
// pick.
//  * In the cycle a frame's last beat leaves input g, the next grant is picked from the valids
//    of that cycle: the first valid input after g, or g itself if no other input is valid
//    (its next frame, if any, then follows without a gap). An input valid in that cycle is
//    still valid in the next (AXI-Stream: tvalid holds until its handshake), so back-to-back
//    frames from one or several inputs run at one beat per cycle.
//  * Between frames with nothing to send (the granted input not valid), the grant is re-picked
//    every cycle from the valids, first after the input whose frame ended last: a frame on the
//    granted input goes at once, one on another input one cycle later.
// Round robin: an input valid when a frame ends is served before any input gets a second turn.
// The output goes through a register slice (wp_axis_reg): the data mux and m_axis_tready are
// cut from the inputs. Latency: one cycle through the slice, one more for a frame that reaches
// an idle arbiter on an input other than the granted one.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_axis_arb #(
    // Number of inputs
    parameter S_COUNT = 2,
    // Width of tdata (bits)
    parameter DATA_WIDTH = 256,
    // Width of tuser (bits)
    parameter USER_WIDTH = 128
) (
    input  wire                              clk,
    input  wire                              rst,

    input  wire [S_COUNT*DATA_WIDTH-1:0]     s_axis_tdata,
    input  wire [S_COUNT*DATA_WIDTH/8-1:0]   s_axis_tkeep,
    input  wire [S_COUNT*USER_WIDTH-1:0]     s_axis_tuser,
    input  wire [S_COUNT-1:0]                s_axis_tlast,
    input  wire [S_COUNT-1:0]                s_axis_tvalid,
    output wire [S_COUNT-1:0]                s_axis_tready,

    output wire [DATA_WIDTH-1:0]             m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]           m_axis_tkeep,
    output wire [USER_WIDTH-1:0]             m_axis_tuser,
    output wire                              m_axis_tlast,
    output wire                              m_axis_tvalid,
    input  wire                              m_axis_tready
);

localparam KEEP_WIDTH = DATA_WIDTH / 8;
localparam WORD_WIDTH = DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1;
// after reset: input 0 counts as the last served, so input 1 comes first (as before the grant
// was registered) and holds the parked grant
localparam [S_COUNT-1:0] LAST_INIT = 1;
localparam [S_COUNT-1:0] GRANT_INIT = S_COUNT > 1 ? 2 : 1;
localparam SEL_W = S_COUNT > 1 ? $clog2(S_COUNT) : 1;
localparam [SEL_W-1:0] GRANT_INIT_IDX = S_COUNT > 1 ? 1 : 0;

initial begin
    if (S_COUNT < 1) begin
        $error("Error: S_COUNT must be at least 1 (instance %m)");
        $finish;
    end
end

reg [S_COUNT-1:0] grant_reg = GRANT_INIT;          // one-hot: the input whose beats may go now
reg [SEL_W-1:0]   grant_idx_reg = GRANT_INIT_IDX;  // its index (selects the data)
reg [S_COUNT-1:0] last_reg = LAST_INIT;            // one-hot: the input whose frame ended last
reg               busy_reg = 1'b0;                 // inside a frame: the grant holds to its end

// round robin: one-hot of the first valid input after position `after` (one-hot), cyclically,
// `after` itself last; 0 if no input is valid. A function behind a continuous assignment (not an
// always @* block), so it is defined from time 0 in every simulator: Icarus (-g2012) never runs
// an always @* block whose inputs keep their initial values.
function [S_COUNT-1:0] rr_next(input [S_COUNT-1:0] after, input [S_COUNT-1:0] valid);
    integer p, d, k;
    reg found;
    begin
        rr_next = 0;
        for (p = 0; p < S_COUNT; p = p + 1) begin
            found = 1'b0;
            for (d = 1; d <= S_COUNT; d = d + 1) begin
                k = p + d >= S_COUNT ? p + d - S_COUNT : p + d;
                if (after[p] && valid[k] && !found) rr_next[k] = 1'b1;
                if (valid[k]) found = 1'b1;
            end
        end
    end
endfunction

// index of a one-hot vector
function [SEL_W-1:0] idx(input [S_COUNT-1:0] onehot);
    integer k;
    begin
        idx = 0;
        for (k = 0; k < S_COUNT; k = k + 1)
            if (onehot[k]) idx = idx | k;
    end
endfunction

wire               out_ready;  // the output slice has room: a register (its skid is empty)
wire [S_COUNT-1:0] granted_valid = grant_reg & s_axis_tvalid;  // at most one bit
wire               sel_valid = |granted_valid;
wire               sel_last = |(granted_valid & s_axis_tlast);
wire               fire = sel_valid && out_ready;
wire [S_COUNT-1:0] pick_end = rr_next(grant_reg, s_axis_tvalid);  // at a last beat: never 0
wire [S_COUNT-1:0] pick_idle = rr_next(last_reg, s_axis_tvalid);

assign s_axis_tready = grant_reg & {S_COUNT{out_ready}};

// the granted input's beat, selected by the grant's index (at 6 inputs a one-hot AND-OR on
// grant_reg instead took about twice the LUTs: 2,558 against 1,316 for the whole arbiter)
wire [WORD_WIDTH-1:0] word = {
    s_axis_tlast[grant_idx_reg],
    s_axis_tuser[grant_idx_reg*USER_WIDTH +: USER_WIDTH],
    s_axis_tkeep[grant_idx_reg*KEEP_WIDTH +: KEEP_WIDTH],
    s_axis_tdata[grant_idx_reg*DATA_WIDTH +: DATA_WIDTH]
};

wp_axis_reg #(.WIDTH(WORD_WIDTH)) out_reg_inst (
    .clk(clk), .rst(rst),
    .s_data(word), .s_valid(sel_valid), .s_ready(out_ready),
    .m_data({m_axis_tlast, m_axis_tuser, m_axis_tkeep, m_axis_tdata}),
    .m_valid(m_axis_tvalid), .m_ready(m_axis_tready)
);

always @(posedge clk) begin
    if (fire) begin
        if (sel_last) begin
            busy_reg <= 1'b0;
            last_reg <= grant_reg;
            grant_reg <= pick_end;
            grant_idx_reg <= idx(pick_end);
        end else begin
            busy_reg <= 1'b1;
        end
    end else if (!busy_reg && |s_axis_tvalid) begin
        grant_reg <= pick_idle;
        grant_idx_reg <= idx(pick_idle);
    end
    if (rst) begin
        busy_reg <= 1'b0;
        grant_reg <= GRANT_INIT;
        grant_idx_reg <= GRANT_INIT_IDX;
        last_reg <= LAST_INIT;
    end
end

endmodule

`resetall
