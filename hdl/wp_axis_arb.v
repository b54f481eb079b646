// wp_axis_arb: frame-based round-robin merge of S_COUNT AXI-Stream inputs into one output.
//
// A grant holds from a frame's first beat to its last; the next grant is chosen in the cycle the
// last beat leaves, so back-to-back frames from one or several inputs run at one beat per cycle.
// The output is combinational from the granted input (no added latency).

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
localparam SEL_W = S_COUNT > 1 ? $clog2(S_COUNT) : 1;

initial begin
    if (S_COUNT < 1) begin
        $error("Error: S_COUNT must be at least 1 (instance %m)");
        $finish;
    end
end

reg             busy_reg = 1'b0;
reg [SEL_W-1:0] grant_reg = 0;
reg [SEL_W-1:0] last_reg = 0;

// round robin: first valid input after last_reg. A function behind a continuous assignment (not
// an always @* block), so pick is defined from time 0 in every simulator: Icarus (-g2012) never
// runs an always @* block whose inputs keep their initial values, and these do until a frame.
// (last + i) mod S_COUNT without a modulo: last < S_COUNT and 1 <= i <= S_COUNT, so one
// conditional subtract in SEL_W + 1 bits (a 32-bit `%` by an S_COUNT that is not a power of
// two became six dividers: 15,072 LUT at S_COUNT = 6, bench/hdl_resources.py)
function [SEL_W:0] rr_pick(input [SEL_W-1:0] last, input [S_COUNT-1:0] valid);
    integer i;
    reg [SEL_W+1:0] n;
    begin
        rr_pick = 0;
        for (i = S_COUNT; i >= 1; i = i - 1) begin
            n = last + i;
            if (n >= S_COUNT) n = n - S_COUNT;
            if (valid[n]) begin
                rr_pick[SEL_W-1:0] = n;
                rr_pick[SEL_W] = 1'b1;
            end
        end
    end
endfunction

wire [SEL_W:0]   pick_result = rr_pick(last_reg, s_axis_tvalid);
wire [SEL_W-1:0] pick = pick_result[SEL_W-1:0];
wire             pick_valid = pick_result[SEL_W];

wire [SEL_W-1:0] sel = busy_reg ? grant_reg : pick;
wire             sel_valid = busy_reg ? s_axis_tvalid[grant_reg] : pick_valid;

assign m_axis_tdata = s_axis_tdata[sel*DATA_WIDTH +: DATA_WIDTH];
assign m_axis_tkeep = s_axis_tkeep[sel*KEEP_WIDTH +: KEEP_WIDTH];
assign m_axis_tuser = s_axis_tuser[sel*USER_WIDTH +: USER_WIDTH];
assign m_axis_tlast = s_axis_tlast[sel];
assign m_axis_tvalid = sel_valid;
assign s_axis_tready = (m_axis_tready && sel_valid) << sel;

always @(posedge clk) begin
    if (m_axis_tvalid && m_axis_tready) begin
        if (m_axis_tlast) begin
            busy_reg <= 1'b0;
            last_reg <= sel;
        end else begin
            busy_reg <= 1'b1;
            grant_reg <= sel;
        end
    end
    if (rst) begin
        busy_reg <= 1'b0;
        grant_reg <= 0;
        last_reg <= 0;
    end
end

endmodule

`resetall
