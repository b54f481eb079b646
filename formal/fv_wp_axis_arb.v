// Formal wrapper: wp_axis_arb with N narrow inputs (the merge is width-generic).
//
// Environment: AXI-Stream rules on every input (wp_axis_check ASSUME=1), each beat of input i
// tagged with i in tdata[1:0], fair back-pressure on the output (wp_fair). Asserted:
//  * the output's AXI-Stream rules (wp_axis_check ASSUME=0);
//  * at most one input ready at a time;
//  * frame atomicity: every beat of an output frame comes from the input of its first beat;
//  * per input, every beat once, in order, unchanged (wp_axis_track on that input and the
//    output beats tagged with it; `pick` free);
//  * round robin: while an input offers a frame's first beat and waits, no other input starts
//    two frames;
//  * bounded liveness: a beat offered on any input is taken within LIVE cycles, given frames
//    of at most MAX_BEATS beats and sources idle at most MAX_GAP cycles in a row inside a
//    frame (both assumed).

`default_nettype none

module fv_wp_axis_arb #(
    parameter N = 3,
    parameter DW = 8,
    parameter UW = 2,
    parameter MAX_BEATS = 2,
    parameter MAX_GAP = 2,
    parameter LIVE = 16
) (
    input wire              clk,
    input wire              rst,
    input wire [N*DW-1:0]   s_tdata,
    input wire [N*DW/8-1:0] s_tkeep,
    input wire [N*UW-1:0]   s_tuser,
    input wire [N-1:0]      s_tlast,
    input wire [N-1:0]      s_tvalid,
    input wire              m_tready
);

localparam KW = DW / 8;

wire [N-1:0]    s_tready;
wire [DW-1:0]   m_tdata;
wire [KW-1:0]   m_tkeep;
wire [UW-1:0]   m_tuser;
wire            m_tlast, m_tvalid;

wp_axis_arb #(.S_COUNT(N), .DATA_WIDTH(DW), .USER_WIDTH(UW)) dut (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_tdata), .s_axis_tkeep(s_tkeep), .s_axis_tuser(s_tuser),
    .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tkeep(m_tkeep), .m_axis_tuser(m_tuser),
    .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready)
);

wp_fair fair (.clk(clk), .rst(rst), .ready(m_tready));
wp_axis_check #(.ASSUME(0), .DATA_WIDTH(DW), .USER_WIDTH(UW)) out_chk (
    .clk(clk), .rst(rst), .tdata(m_tdata), .tkeep(m_tkeep), .tuser(m_tuser), .tlast(m_tlast),
    .tvalid(m_tvalid), .tready(m_tready));

always @* if (!rst) assert((s_tready & (s_tready - 1'b1)) == 0);

// frame atomicity on the output
wire        m_hs = m_tvalid && m_tready;
reg         out_mid = 1'b0;  // inside an output frame
reg [1:0]   out_src = 0;
always @(posedge clk) begin
    if (m_hs) begin
        out_mid <= !m_tlast;
        out_src <= m_tdata[1:0];
    end
    if (rst) out_mid <= 1'b0;
end
always @* if (!rst && m_tvalid && out_mid) assert(m_tdata[1:0] == out_src);

wire [N-1:0] start;    // a frame's first beat taken on input i
wire [N-1:0] waiting;  // a frame's first beat offered on input i and not taken

genvar i, k;
generate
for (i = 0; i < N; i = i + 1) begin : inp
    wire [DW-1:0] d = s_tdata[i*DW +: DW];
    wire          hs = s_tvalid[i] && s_tready[i];
    reg           mid = 1'b0;  // inside a frame on this input
    reg [3:0]     beats = 0;   // beats of the current frame taken so far
    reg [3:0]     gap = 0;     // cycles without tvalid inside a frame
    always @(posedge clk) begin
        if (hs) begin
            mid <= !s_tlast[i];
            beats <= s_tlast[i] ? 0 : beats + 1'b1;
        end
        gap <= mid && !s_tvalid[i] ? gap + 1'b1 : 0;
        if (rst) begin
            mid <= 1'b0;
            beats <= 0;
            gap <= 0;
        end
    end
    assign start[i] = hs && !mid;
    assign waiting[i] = s_tvalid[i] && !s_tready[i] && !mid;

    wp_axis_check #(.ASSUME(1), .DATA_WIDTH(DW), .USER_WIDTH(UW)) chk (
        .clk(clk), .rst(rst), .tdata(d), .tkeep(s_tkeep[i*KW +: KW]),
        .tuser(s_tuser[i*UW +: UW]), .tlast(s_tlast[i]), .tvalid(s_tvalid[i]),
        .tready(s_tready[i]));
    always @* begin
        if (s_tvalid[i]) begin
            assume(d[1:0] == i);
            assume(beats < MAX_BEATS - 1 || s_tlast[i]);
        end
        // a frame once started goes on: the grant holds to its last beat, so a source idle
        // inside a frame for ever would block every other input
        assume(gap <= MAX_GAP);
    end

    // this input's beats on the output: once, in order, unchanged; a beat offered is taken
    // within LIVE cycles (LIVE_BEATS: output liveness counts any beat of this input inside)
    wire mine = m_tvalid && m_tdata[1:0] == i;
    wp_axis_track #(.DATA_WIDTH(DW), .USER_WIDTH(UW), .CHECK_DATA(1), .LIVE(LIVE),
        .LIVE_BEATS(1), .COVER_FRAMES(2)) track (
        .clk(clk), .rst(rst),
        .s_tdata(d), .s_tkeep(s_tkeep[i*KW +: KW]), .s_tuser(s_tuser[i*UW +: UW]),
        .s_tlast(s_tlast[i]), .s_tvalid(s_tvalid[i]), .s_tready(s_tready[i]),
        .m_tdata(m_tdata), .m_tkeep(m_tkeep), .m_tuser(m_tuser), .m_tlast(m_tlast),
        .m_tvalid(mine), .m_tready(m_tready));
end

// round robin: while input k waits with a first beat, input i (i != k) starts at most one
// frame (a start in the cycle k begins to wait counts)
for (k = 0; k < N; k = k + 1) begin : rr
    for (i = 0; i < N; i = i + 1) begin : other
        if (i != k) begin : g
            reg  [1:0] starts = 0;  // frames input i started while input k waits
            wire [1:0] n = start[i] ? starts + 1'b1 : starts;
            always @(posedge clk) begin
                starts <= waiting[k] ? (n > 2 ? 2'd2 : n) : 2'd0;
                if (rst) starts <= 0;
            end
            always @* if (!rst && waiting[k]) assert(n <= 1);
        end
    end
end
endgenerate

endmodule
