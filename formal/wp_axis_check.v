// wp_axis_check: AXI4-Stream rules for one channel, as assumptions (ASSUME=1: a stream the
// environment drives into the design) or as assertions (ASSUME=0: a stream the design drives).
//
//  * after reset, tvalid stays high until tready (no withdrawn beat);
//  * tdata/tkeep/tuser/tlast stable while tvalid && !tready;
//  * tkeep contiguous from byte 0, not zero, and all ones unless tlast;
//  * tvalid low in reset and in the cycle after it (registered outputs).
// Only for formal tools (yosys read -formal); not part of hdl/wphw.f.

`default_nettype none

module wp_axis_check #(
    parameter ASSUME = 0,
    parameter DATA_WIDTH = 256,
    parameter USER_WIDTH = 128
) (
    input wire                    clk,
    input wire                    rst,
    input wire [DATA_WIDTH-1:0]   tdata,
    input wire [DATA_WIDTH/8-1:0] tkeep,
    input wire [USER_WIDTH-1:0]   tuser,
    input wire                    tlast,
    input wire                    tvalid,
    input wire                    tready
);

localparam KW = DATA_WIDTH / 8;

localparam W = DATA_WIDTH + KW + USER_WIDTH + 1;

reg         past_ok = 1'b0;  // a previous cycle exists and was out of reset
reg         past_rst = 1'b0;
reg         past_stall = 1'b0;  // tvalid && !tready in the previous cycle
reg [W-1:0] past_word = 0;
wire [W-1:0] word = {tlast, tuser, tkeep, tdata};
always @(posedge clk) begin
    past_ok <= !rst;
    past_rst <= rst;
    past_stall <= tvalid && !tready;
    past_word <= word;
end

wire held = past_ok && past_stall;
wire keep_ok = tkeep != 0 && ((tkeep & (tkeep + 1'b1)) == 0) && (tlast || &tkeep);

generate
if (ASSUME) begin : g_assume
    always @* begin
        if (rst) assume(!tvalid);
        if (held) begin
            assume(tvalid);
            assume(word == past_word);
        end
        if (tvalid) assume(keep_ok);
    end
end else begin : g_assert
    always @* begin
        if (past_rst) assert(!tvalid);
        if (!rst && held) begin
            assert(tvalid);
            assert(word == past_word);
        end
        if (!rst && tvalid) assert(keep_ok);
    end
end
endgenerate

endmodule
